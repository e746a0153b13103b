package workflow

import (
	"sync"
)

// compiled is a definition ready to run: configurations decoded, the
// connections indexed by their origin.
type compiled struct {
	workflowID int64
	name       string
	version    int32
	def        Definition
	nodes      map[string]*Node
	kinds      map[string]*Kind
	cfgs       map[string]Config
	out        map[string]map[string][]Connection // node → port → connections
}

// compile decodes a definition's configurations; it assumes the definition
// was validated when it was saved or published, and refuses one that no
// longer decodes (a node type since removed).
func compile(workflowID int64, name string, version int32, def Definition) (*compiled, error) {
	c := &compiled{workflowID: workflowID, name: name, version: version, def: def,
		nodes: map[string]*Node{}, kinds: map[string]*Kind{}, cfgs: map[string]Config{}, out: map[string]map[string][]Connection{}}
	for i := range def.Nodes {
		n := &def.Nodes[i]
		k, ok := KindOf(n.Type)
		if !ok {
			return nil, errorf("node %s has the unknown type %q", n.ID, n.Type)
		}
		cfg, err := DecodeConfig(k, n.Config)
		if err != nil {
			return nil, errorf("node %s: %v", n.ID, err)
		}
		c.nodes[n.ID], c.kinds[n.ID], c.cfgs[n.ID] = n, k, cfg
	}
	for _, cn := range def.Connections {
		if c.out[cn.From] == nil {
			c.out[cn.From] = map[string][]Connection{}
		}
		c.out[cn.From][cn.FromPort] = append(c.out[cn.From][cn.FromPort], cn)
	}
	return c, nil
}

// compiledCache keeps compiled published versions, which never change.
type compiledCache struct {
	mu sync.Mutex
	m  map[versionKey]*compiled
}

type versionKey struct {
	workflow int64
	version  int32
}

const compiledCacheSize = 1024

func (cc *compiledCache) get(k versionKey) *compiled {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.m[k]
}

func (cc *compiledCache) put(k versionKey, c *compiled) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.m == nil || len(cc.m) >= compiledCacheSize {
		cc.m = map[versionKey]*compiled{}
	}
	cc.m[k] = c
}
