package directory

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/voipbin/registrar-operator/api/published"
)

// Published is the Directory the operator publishes into the registrar's namespace:
// one ConfigMap per domain, one Secret per extension, and the nonce key. It watches
// only that namespace, so the registrar needs no cluster-wide access to Secrets. A
// change reaches the maps as soon as the watch delivers it, well within a second.
type Published struct {
	onCredentialRemoved func(aor string)
	onNonceKey          func(key []byte)

	log      logr.Logger
	factory  interface{ Start(stop <-chan struct{}) }
	synced   []cache.InformerSynced
	mu       sync.RWMutex
	domains  map[string]*Domain
	creds    map[string]*Credential // by AOR
	domainOf map[string]string      // ConfigMap name → domain
	// spare holds, by AOR, the credentials of other Secrets that carry an AOR besides
	// the one in creds: empty but while the operator renames a Secret (or two
	// Extensions briefly claim one AOR).
	spare map[string][]*Credential
}

// PublishedConfig is what a Published directory needs.
type PublishedConfig struct {
	// Clientset reads Namespace, where the operator publishes.
	Clientset kubernetes.Interface
	Namespace string
	// OnCredentialRemoved, if not nil, is called with the AOR of an extension that
	// may no longer register (deleted, disabled, its domain gone), so its bindings
	// can be dropped.
	OnCredentialRemoved func(aor string)
	// OnNonceKey, if not nil, is called with the nonce key whenever it is published
	// or changes.
	OnNonceKey func(key []byte)
	Log        logr.Logger
}

// NewPublished prepares the watches; Start runs them.
func NewPublished(cfg PublishedConfig) *Published {
	cs, namespace := cfg.Clientset, cfg.Namespace
	c := &Published{
		onCredentialRemoved: cfg.OnCredentialRemoved,
		onNonceKey:          cfg.OnNonceKey,
		log:                 cfg.Log,
		domains:             map[string]*Domain{},
		creds:               map[string]*Credential{},
		domainOf:            map[string]string{},
		spare:               map[string][]*Credential{},
	}
	byComponent := func(component string) informers.SharedInformerOption {
		return informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.LabelSelector = published.LabelComponent + "=" + component
		})
	}
	// Two factories: the label selectors differ per kind.
	cmFactory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(namespace), byComponent(published.ComponentDomain))
	secretFactory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.LabelSelector = published.LabelComponent + " in (" + published.ComponentCredential + "," + published.ComponentNonceKey + ")"
		}))
	cms := cmFactory.Core().V1().ConfigMaps().Informer()
	secrets := secretFactory.Core().V1().Secrets().Informer()
	_ = cms.SetTransform(stripManagedFields)
	_ = secrets.SetTransform(slimSecret)
	_, _ = cms.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { c.putDomain(o.(*corev1.ConfigMap)) },
		UpdateFunc: func(_, o any) { c.putDomain(o.(*corev1.ConfigMap)) },
		DeleteFunc: func(o any) { c.deleteDomain(o) },
	})
	_, _ = secrets.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { c.putSecret(nil, o) },
		UpdateFunc: func(old, o any) { c.putSecret(old, o) },
		DeleteFunc: func(o any) { c.deleteSecret(o) },
	})
	c.synced = []cache.InformerSynced{cms.HasSynced, secrets.HasSynced}
	c.factory = multiFactory{cmFactory, secretFactory}
	return c
}

// Start runs the watches and waits until the first listing arrived.
func (c *Published) Start(ctx context.Context) error {
	c.factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return fmt.Errorf("while waiting for the published domains and credentials: %w", ctx.Err())
	}
	return nil
}

// Domain implements Directory.
func (c *Published) Domain(host string) (*Domain, bool) {
	c.mu.RLock()
	d, ok := c.domains[host]
	c.mu.RUnlock()
	return d, ok
}

// Credential implements Directory. A credential counts only while its domain is served.
func (c *Published) Credential(domain, user string) (*Credential, bool) {
	c.mu.RLock()
	cr, ok := c.creds[user+"@"+domain]
	if ok {
		_, ok = c.domains[domain]
	}
	c.mu.RUnlock()
	return cr, ok
}

// ByAOR returns the credential of an AOR whatever the state of its domain.
func (c *Published) ByAOR(aor string) (*Credential, bool) {
	c.mu.RLock()
	cr, ok := c.creds[aor]
	c.mu.RUnlock()
	return cr, ok
}

// ExtensionOf names the Extension whose credential an AOR has, whatever the state of
// its domain: where the status writer writes the AOR's bindings.
func (c *Published) ExtensionOf(aor string) (types.NamespacedName, bool) {
	cr, ok := c.ByAOR(aor)
	if !ok {
		return types.NamespacedName{}, false
	}
	return types.NamespacedName{Namespace: cr.Namespace, Name: cr.Name}, true
}

// Counts returns how many domains and credentials are known.
func (c *Published) Counts() (domains, credentials int) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.domains), len(c.creds)
}

func (c *Published) putDomain(cm *corev1.ConfigMap) {
	d, err := published.DecodeDomainConfig(cm.Data[published.KeyConfigJSON])
	if err != nil {
		c.log.Error(err, "ignoring a published domain", "configMap", cm.Name)
		return
	}
	c.mu.Lock()
	if old, ok := c.domainOf[cm.Name]; ok && old != d.Domain {
		delete(c.domains, old)
	}
	c.domains[d.Domain] = NewDomain(d)
	c.domainOf[cm.Name] = d.Domain
	c.mu.Unlock()
}

func (c *Published) deleteDomain(o any) {
	cm, ok := unwrap[*corev1.ConfigMap](o)
	if !ok {
		return
	}
	c.mu.Lock()
	delete(c.domains, c.domainOf[cm.Name])
	delete(c.domainOf, cm.Name)
	c.mu.Unlock()
}

// putSecret takes a published Secret (as slimSecret stored it) and the version it
// replaces, if any.
func (c *Published) putSecret(old, o any) {
	if s, ok := o.(*corev1.Secret); ok {
		if s.Name == published.NonceKeySecretName && c.onNonceKey != nil {
			c.onNonceKey(s.Data[published.KeyNonceKey])
		}
		return
	}
	cs, ok := o.(*credentialRecord)
	if !ok {
		return
	}
	var before *Credential
	if prev, ok := old.(*credentialRecord); ok {
		before = prev.cred
	}
	cr := cs.cred
	if cr == nil {
		c.log.Info("ignoring a credential secret without domain or extension", "secret", cs.name)
	}
	moved := before != nil && (cr == nil || before.AOR != cr.AOR)
	c.mu.Lock()
	if moved {
		moved = c.dropLocked(before)
	}
	if cr != nil {
		c.putLocked(cr)
	}
	c.mu.Unlock()
	if moved && c.onCredentialRemoved != nil {
		c.onCredentialRemoved(before.AOR)
	}
}

func (c *Published) deleteSecret(o any) {
	cs, ok := unwrap[*credentialRecord](o)
	if !ok || cs.cred == nil {
		return
	}
	c.mu.Lock()
	dropped := c.dropLocked(cs.cred)
	c.mu.Unlock()
	if dropped && c.onCredentialRemoved != nil {
		c.onCredentialRemoved(cs.cred.AOR)
	}
}

// putLocked makes cr its AOR's credential. The one it replaces, if read from another
// Secret, is kept aside in case cr's Secret goes first.
func (c *Published) putLocked(cr *Credential) {
	c.forgetSpareLocked(cr)
	if cur, ok := c.creds[cr.AOR]; ok && cur.secret != cr.secret {
		c.spare[cr.AOR] = append(c.spare[cr.AOR], cur)
	}
	c.creds[cr.AOR] = cr
}

// dropLocked forgets the credential cr's Secret gave its AOR. When that Secret was
// the one in use and another Secret carries the AOR, that one takes over. It reports
// whether the AOR's bindings must go: it is gone, or now another Extension's. (A
// delete event carries its own copy of the object, so identity is by Secret name.)
func (c *Published) dropLocked(cr *Credential) bool {
	cur, ok := c.creds[cr.AOR]
	if !ok {
		return false
	}
	if cur.secret != cr.secret {
		c.forgetSpareLocked(cr)
		return false
	}
	spare := c.spare[cr.AOR]
	if len(spare) == 0 {
		delete(c.creds, cr.AOR)
		return true
	}
	next := spare[len(spare)-1]
	c.setSpareLocked(cr.AOR, spare[:len(spare)-1])
	c.creds[cr.AOR] = next
	return next.Namespace != cur.Namespace || next.Name != cur.Name
}

// forgetSpareLocked removes what cr's Secret left aside for its AOR.
func (c *Published) forgetSpareLocked(cr *Credential) {
	spare := c.spare[cr.AOR]
	for i, s := range spare {
		if s.secret == cr.secret {
			c.setSpareLocked(cr.AOR, append(spare[:i:i], spare[i+1:]...))
			return
		}
	}
}

func (c *Published) setSpareLocked(aor string, spare []*Credential) {
	if len(spare) == 0 {
		delete(c.spare, aor)
		return
	}
	c.spare[aor] = spare
}

// credentialFrom reads the Credential a Secret publishes, nil when it names no
// domain or extension. Names many credentials share are interned, and Extension is
// the start of AOR: at 100,000 credentials every copy counts.
func credentialFrom(s *corev1.Secret) *Credential {
	domain, ext := s.Data[published.KeyDomain], s.Data[published.KeyExtension]
	if len(domain) == 0 || len(ext) == 0 {
		return nil
	}
	aor := string(ext) + "@" + string(domain)
	cr := &Credential{
		Namespace:  namespaces.intern(s.Labels[published.LabelSourceNS]),
		Name:       s.Labels[published.LabelSourceName],
		Extension:  aor[:len(ext)],
		Domain:     domains.internBytes(domain),
		AOR:        aor,
		HA1MD5:     string(s.Data[published.KeyHA1MD5]),
		HA1SHA256:  string(s.Data[published.KeyHA1SHA256]),
		Algorithms: published.DecodeAlgorithms(string(s.Data[published.KeyAlgorithms])),
		secret:     s.Name,
	}
	if v, err := strconv.ParseInt(string(s.Data[published.KeyMaxContacts]), 10, 32); err == nil && v > 0 {
		cr.MaxContacts = int32(v)
	}
	return cr
}

// unwrap returns the object of a delete event, which may be a tombstone when the
// watch missed the deletion.
func unwrap[T any](o any) (T, bool) {
	if t, ok := o.(cache.DeletedFinalStateUnknown); ok {
		o = t.Obj
	}
	v, ok := o.(T)
	return v, ok
}
