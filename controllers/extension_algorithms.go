package controllers

import (
	"fmt"
	"slices"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// checkAlgorithms refuses an Extension whose own challenge algorithms the Domain does
// not accept: its devices would be challenged with something they cannot answer, or
// with what the Domain's owner chose to refuse. The schema cannot see the Domain.
func checkAlgorithms(ext *sipv1.Extension, d *sipv1.Domain) error {
	if ext.Spec.Authentication == nil {
		return nil
	}
	offered := d.Spec.Authentication.Algorithms
	if len(offered) == 0 {
		offered = []sipv1.DigestAlgorithm{sipv1.DigestMD5}
	}
	for _, a := range ext.Spec.Authentication.Algorithms {
		if !slices.Contains(offered, a) {
			return &stalledError{sipv1.ReasonAlgorithmNotOffered, fmt.Sprintf(
				"spec.authentication.algorithms names %s, which Domain %q does not accept (it accepts %v); "+
					"add it to the Domain's spec.authentication.algorithms or remove it here", a, d.Name, offered)}
		}
	}
	return nil
}
