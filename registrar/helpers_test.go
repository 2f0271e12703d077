package registrar_test

import (
	"errors"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

var errStill = errors.New("not yet")

func nowUTC() time.Time { return time.Now() }

func isReady(e *sipv1.Extension) bool {
	return meta.IsStatusConditionTrue(e.Status.Conditions, sipv1.ConditionReady)
}
