package registrar_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/emiago/sipgo/sip"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/registrar"
	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
)

// addExtension creates another Extension of tn's Domain with tn's password and the
// given algorithms of its own (nil: none), and waits until replica A knows it and
// challenges it with want.
func addExtension(t *testing.T, tn *tenant, user string, own, want []sipv1.DigestAlgorithm) {
	t.Helper()
	e := &sipv1.Extension{ObjectMeta: metav1.ObjectMeta{Namespace: tn.ns, Name: "e" + user}, Spec: sipv1.ExtensionSpec{
		DomainRef: "d", Extension: user, PasswordSecretRef: tn.ext.Spec.PasswordSecretRef,
	}}
	if own != nil {
		e.Spec.Authentication = &sipv1.ExtensionAuthentication{Algorithms: own}
	}
	if err := k8s.Create(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	// An unknown extension is challenged as the Domain prefers, which may be want.
	eventually(t, "replica A knows "+user, func() error {
		if !replicaA.Knows(user + "@" + tn.domain) {
			return errStill
		}
		return nil
	})
	challengedWith(t, tn, user, want)
}

// challengedWith waits until replica A challenges user of tn's Domain with want,
// one header per algorithm in this order.
func challengedWith(t *testing.T, tn *tenant, user string, want []sipv1.DigestAlgorithm) {
	t.Helper()
	udp, _ := replicaA.Addresses()
	eventually(t, fmt.Sprintf("%s challenged with %v", user, want), func() error {
		p := siptest.NewUDP(t, "127.0.0.1", udp, siptest.Account{User: user, Domain: tn.domain, Password: tn.password})
		defer p.Close()
		res, err := p.Register("", 0, 60)
		if err != nil {
			return err
		}
		if got := siptest.ChallengeAlgorithms(res); !slices.Equal(got, want) {
			return fmt.Errorf("%d %s challenges with %v", res.StatusCode, res.Reason, got)
		}
		return nil
	})
}

// registerWith registers user of tn with a phone computing alg, and fails unless
// the registrar answers 200.
func registerWith(t *testing.T, tn *tenant, user string, alg sipv1.DigestAlgorithm) {
	t.Helper()
	udp, _ := replicaA.Addresses()
	p := siptest.NewUDP(t, "127.0.0.1", udp, siptest.Account{User: user, Domain: tn.domain, Password: tn.password})
	p.Alg = alg
	res, err := p.Register("", 0, 60)
	if err != nil {
		t.Fatal(err)
	}
	if got := siptest.ChallengeAlgorithms(res); !slices.Equal(got, []sipv1.DigestAlgorithm{alg}) {
		t.Fatalf("%s challenged with %v, want %s alone", user, got, alg)
	}
	nonce, err := siptest.Nonce(res)
	if err != nil {
		t.Fatal(err)
	}
	if res, err = p.Register(nonce, 1, 60); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != sip.StatusOK {
		t.Fatalf("%s answering with %s got %d %s, want 200", user, alg, res.StatusCode, res.Reason)
	}
}

// A Domain offering MD5 and SHA-256 serves old and new devices side by side. SIPp
// 3.6.1 computes MD5 only and, like JsSIP and SIP.js, answers the first challenge
// header; an Extension set for SHA-256 is challenged with SHA-256 alone, and a
// Domain preferring SHA-256 still lets an Extension set for MD5 in.
func TestOldAndSHA256DevicesShareADomain(t *testing.T) {
	md5, sha := sipv1.DigestMD5, sipv1.DigestSHA256
	for _, tc := range []struct {
		name          string
		domain        []sipv1.DigestAlgorithm
		sippOwn       []sipv1.DigestAlgorithm // the SIPp extension's own algorithms
		sippChallenge []sipv1.DigestAlgorithm
	}{
		{"MD5 preferred, SIPp without a setting", []sipv1.DigestAlgorithm{md5, sha}, nil, []sipv1.DigestAlgorithm{md5}},
		{"SHA-256 preferred, SIPp set for MD5", []sipv1.DigestAlgorithm{sha, md5}, []sipv1.DigestAlgorithm{md5}, []sipv1.DigestAlgorithm{md5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tn := newTenant(t, "1001", func(d *sipv1.Domain) { d.Spec.Authentication.Algorithms = tc.domain })
			if tc.sippOwn != nil {
				orig := tn.ext.DeepCopy()
				tn.ext.Spec.Authentication = &sipv1.ExtensionAuthentication{Algorithms: tc.sippOwn}
				if err := k8s.Patch(context.Background(), tn.ext, client.MergeFrom(orig)); err != nil {
					t.Fatal(err)
				}
			}
			challengedWith(t, tn, tn.user, tc.sippChallenge)
			for _, transport := range []string{"udp", "tcp"} {
				if err := tn.sipp("register.xml", transport, tn.password, 600).run(t); err != nil {
					t.Fatalf("SIPp (MD5 only) could not register: %v", err)
				}
			}
			// One binding per transport: the Contacts differ in their transport parameter.
			bindingsAre(t, tn, 2)

			addExtension(t, tn, "1002", []sipv1.DigestAlgorithm{sha}, []sipv1.DigestAlgorithm{sha})
			registerWith(t, tn, "1002", sha)
		})
	}
}

// The proxy challenges callers as REGISTER does: a caller whose Extension is set for
// SHA-256 gets SHA-256 alone, the others the Domain's preferred algorithm alone.
func TestCallerChallengeFollowsTheExtensionsAlgorithms(t *testing.T) {
	md5, sha := sipv1.DigestMD5, sipv1.DigestSHA256
	tn := newTenant(t, "1007", func(d *sipv1.Domain) { d.Spec.Authentication.Algorithms = []sipv1.DigestAlgorithm{md5, sha} })
	addExtension(t, tn, "1002", []sipv1.DigestAlgorithm{sha}, []sipv1.DigestAlgorithm{sha})
	r := startExtraReplica(t, "replica-alg", "127.0.0.7", tn, func(c *registrar.Config) { c.RequireCallerAuth = true })
	eventually(t, "the replica knows 1002", func() error {
		if !r.Knows("1002@" + tn.domain) {
			return errStill
		}
		return nil
	})
	udp, _ := r.Addresses()
	for caller, want := range map[string][]sipv1.DigestAlgorithm{"1007": {md5}, "1002": {sha}} {
		res := invite(t, udp, "sip:"+caller+"@"+tn.domain, tn.domain)
		if got := siptest.ChallengeAlgorithms(res); res.StatusCode != 407 || !slices.Equal(got, want) {
			t.Errorf("caller %s got %d %s challenging with %v, want 407 with %v", caller, res.StatusCode, res.Reason, got, want)
		}
	}
}
