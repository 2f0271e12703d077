package controllers

import (
	"context"
	"errors"
	"fmt"
	"maps"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/voipbin/registrar-operator/api/published"
)

// errPublishedByAnother: the object exists, and another resource published it.
var errPublishedByAnother = errors.New("published by another resource")

// publish makes want exist in the registrar namespace, labelled as published from
// source: it creates it, or updates the data, labels and owner references of the
// existing object read into have (which keeps owner references of its own). An object already as wanted is not written, so a resync or an operator
// restart costs no API writes. Unless takeOver is set (the caller has settled that
// source is the rightful owner), it never touches what another resource published.
// syncData copies want's data into have and reports whether that changed anything.
func publish[T client.Object](ctx context.Context, c client.Client, source client.Object, want, have T,
	takeOver bool, syncData func(have, want T) bool) (written bool, err error) {
	kind := want.GetLabels()[published.LabelComponent]
	err = c.Get(ctx, client.ObjectKeyFromObject(want), have)
	switch {
	case apierrors.IsNotFound(err):
		if err := c.Create(ctx, want); err != nil {
			return false, fmt.Errorf("while publishing the %s %s: %w", kind, want.GetName(), err)
		}
		return true, nil
	case err != nil:
		return false, fmt.Errorf("while reading the %s %s: %w", kind, want.GetName(), err)
	}
	if !takeOver && !isPublishedFrom(have, source) {
		return false, errPublishedByAnother
	}
	changed := syncData(have, want)
	if !labelsContain(have.GetLabels(), want.GetLabels()) {
		labels := have.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		maps.Copy(labels, want.GetLabels())
		have.SetLabels(labels)
		changed = true
	}
	if addOwnerRefs(have, want.GetOwnerReferences()...) {
		changed = true
	}
	if !changed {
		return false, nil
	}
	if err := c.Update(ctx, have); err != nil {
		return false, fmt.Errorf("while updating the %s %s: %w", kind, want.GetName(), err)
	}
	return true, nil
}
