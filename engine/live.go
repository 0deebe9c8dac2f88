package engine

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"agentwatch/reconcile"
	"agentwatch/registry"
	"agentwatch/tmux"
)

// defaultSettle is how long a check waits before it looks at its ghost
// suspects again: longer than an orchestrator takes to record a completion
// after the agent's session ends.
const defaultSettle = 1500 * time.Millisecond

// scanTimeout bounds the answer of one tmux server: a server that is
// stopped or wedged must not hold the scan.
const scanTimeout = 5 * time.Second

// procBudget bounds the process table's reads: twice scanTimeout, and as
// much again for every thousand processes the last scan saw (three
// thousand before the first). The reads of /proc
// cannot hang the way a tmux server can (a context does not interrupt a
// read that blocks), so the bound is for a scan that crawls, not one that
// is stuck: on a loaded machine a table of some thousands of processes
// takes seconds, and a check must be slow then rather than fail.
func (e *Engine) procBudget() time.Duration {
	n := e.lastProcs.Load()
	if n == 0 {
		n = 3000
	}
	return time.Duration(2+n/1000) * scanTimeout
}

// gatherLive scans the tmux servers and the process table, and follows TMUX
// variables of claude processes to servers not yet scanned. It reads no
// registry, so that Gather can run it while it reads the registries; the
// stream logs are read afterwards (readEvidence).
func (e *Engine) gatherLive(ctx context.Context) (*reconcile.Live, error) {
	lv := &reconcile.Live{Claude: map[int32]bool{}, Evidence: map[string]bool{}, Confirm: map[string]bool{},
		EvidenceError: map[string]bool{}, LogModified: map[string]time.Time{}, Cwd: map[int32]string{},
		Grace: e.cfg.Grace, Stale: e.cfg.Stale}
	why, sockets := "given", e.cfg.Sockets
	if len(sockets) == 0 {
		why, sockets = "default", []tmux.Socket{{}}
	}
	// The servers answer while the process table is read, each in its own
	// time: one that is stopped holds nothing but its own answer.
	whys := make([]string, len(sockets))
	for i := range whys {
		whys[i] = why
	}
	given := e.scanServers(ctx, sockets, whys)
	pctx, cancel := context.WithTimeout(ctx, e.procBudget())
	defer cancel()
	table, err := e.scanner.Scan(pctx)
	lv.Servers = <-given
	if err != nil {
		return nil, fmt.Errorf("gather: %w", err)
	}
	e.lastProcs.Store(int64(len(table.Procs)))
	lv.Procs = table
	pids := make([]int32, 0, len(table.Procs))
	for pid, p := range table.Procs {
		if e.cfg.Matcher.Match(p) {
			lv.Claude[pid] = true
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids)
	// A claude in a pane of a server nobody named: watch that server too,
	// rather than call its agents ghosts.
	if err := e.scanner.ReadEnv(pctx, table, pids); err != nil {
		return nil, fmt.Errorf("gather: %w", err)
	}
	var followed []tmux.Socket
	whys = nil
	for _, pid := range pids {
		p := table.Procs[pid]
		sock, _, ok := tmux.SocketFromEnv(p.TMUX)
		if !ok || knownServer(lv.Servers, sock) || slices.Contains(followed, sock) {
			continue
		}
		followed = append(followed, sock)
		whys = append(whys, fmt.Sprintf("named by TMUX of claude PID %d", pid))
	}
	for _, s := range <-e.scanServers(ctx, followed, whys) {
		s.Followed = true
		lv.Servers = append(lv.Servers, s)
	}
	markPaneAgents(lv)
	// The scan reads no environment unasked: read those the analysis uses,
	// and where nothing shows TMUX variables (a check, not the screen),
	// only those whose pane their environment alone can tell.
	need := reconcile.EnvNeeded(table, lv.Claude)
	if e.cfg.Lean {
		need = reconcile.BeyondPanes(lv, need)
	}
	if err := e.scanner.ReadEnv(pctx, table, need); err != nil {
		return nil, fmt.Errorf("gather: %w", err)
	}
	return lv, nil
}

func knownServer(servers []reconcile.Server, s tmux.Socket) bool {
	for _, x := range servers {
		if x.Socket == s || (x.Snapshot != nil && s.Path != "" && socketPath(x.Socket) == s.Path) {
			return true
		}
	}
	return false
}

// socketPath is where tmux puts a server's socket: -S as given, -L and the
// default in $TMUX_TMPDIR (or /tmp)/tmux-UID/.
func socketPath(s tmux.Socket) string {
	if s.Path != "" {
		return s.Path
	}
	dir := os.Getenv("TMUX_TMPDIR")
	if dir == "" {
		dir = "/tmp"
	}
	name := s.Name
	if name == "" {
		name = "default"
	}
	return fmt.Sprintf("%s/tmux-%d/%s", dir, os.Getuid(), name)
}

// scanServers scans the servers at once, each with its own budget, and
// sends their answers, in order, when all are in.
func (e *Engine) scanServers(ctx context.Context, sockets []tmux.Socket, whys []string) <-chan []reconcile.Server {
	out := make(chan []reconcile.Server, 1)
	servers := make([]reconcile.Server, len(sockets))
	var wg sync.WaitGroup
	for i, s := range sockets {
		wg.Go(func() { servers[i] = e.scanServer(ctx, s, whys[i]) })
	}
	go func() {
		wg.Wait()
		out <- servers
	}()
	return out
}

func (e *Engine) scanServer(ctx context.Context, s tmux.Socket, why string) reconcile.Server {
	ctx, cancel := context.WithTimeout(ctx, scanTimeout)
	defer cancel()
	snap, err := tmux.NewClient(s).Snapshot(ctx)
	return reconcile.Server{Socket: s, Snapshot: snap, Err: err, Why: why}
}

// readEvidence reads, for every active agent whose session is on no
// scanned server, whether its stream log ends with a result line.
func (e *Engine) readEvidence(in *reconcile.Input) {
	live := map[string]bool{}
	for _, s := range in.Live.Servers {
		if s.Snapshot == nil {
			continue
		}
		for _, p := range s.Snapshot.Panes {
			live[p.Session] = true
		}
	}
	seen := map[string]bool{}
	for _, r := range in.Registries {
		if r.Kind != reconcile.KindTask || r.Root == nil {
			continue
		}
		seen[r.Path] = true
		for _, a := range e.activeAgents(r) {
			if live[a.session] {
				continue
			}
			if found, _ := lastResult(registry.StreamLogPath(r.Path, a.id)); found {
				in.Live.Evidence[a.id] = true
			}
		}
	}
	e.active.keep(seen)
	readStateEvidence(in, live, e.cfg.Sets)
	e.readLogTimes(in, live)
}

// activeAgent is an agent of a task registry whose status is active.
type activeAgent struct{ id, session string }

// activeCache keeps each task registry's active agents by the hash of the
// document they were listed from: listing 10,000 agents to find the few
// active ones is most of the cost of looking for evidence on every scan.
type activeCache struct {
	mu sync.Mutex
	m  map[string]activeList // by registry path
}

type activeList struct {
	hash   string
	agents []activeAgent
}

// keep forgets the registries not in paths: archived, removed, or no
// longer readable.
func (c *activeCache) keep(paths map[string]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for p := range c.m {
		if !paths[p] {
			delete(c.m, p)
		}
	}
}

// activeAgents returns the active agents of the task registry r, listed
// again only when its document changed (or has no hash to tell).
func (e *Engine) activeAgents(r reconcile.Registry) []activeAgent {
	c := &e.active
	c.mu.Lock()
	defer c.mu.Unlock()
	if got, ok := c.m[r.Path]; ok && r.Hash != "" && got.hash == r.Hash {
		return got.agents
	}
	tf, err := registry.NewTaskView(r.Root, r.Rows)
	if err != nil {
		return nil
	}
	var out []activeAgent
	for _, a := range tf.Agents() {
		if e.cfg.Sets.Classify(a.Status) == registry.StatusActive {
			out = append(out, activeAgent{id: a.ID, session: a.Session()})
		}
	}
	if c.m == nil {
		c.m = map[string]activeList{}
	}
	c.m[r.Path] = activeList{hash: r.Hash, agents: out}
	return out
}
