package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"agentwatch/demo"
	"agentwatch/internal/lifeline"
	"agentwatch/procscan"
	"agentwatch/registry/pyjson"
	"agentwatch/tmux"
)

// TestMain runs the test binary as the demo's fake claude when it is
// started under that name, and checks at the end that nothing a test
// started is still running.
func TestMain(m *testing.M) {
	if demo.IsFake(os.Args[0]) {
		os.Exit(demo.RunFake(os.Args))
	}
	if os.Getenv("AGENTWATCH_TEST_ONESHOT_HEAP") == "1" {
		os.Exit(reportOneShotHeap()) // first thing, before any test runs
	}
	// The end-to-end tests run this binary as agentwatch itself.
	if os.Getenv("AGENTWATCH_TEST_AS_MAIN") == "1" {
		os.Args = append([]string{"agentwatch"}, os.Args[1:]...)
		os.Exit(mainExit())
	}
	code := m.Run()
	for _, cut := range cuts {
		cut() // each kills a server the tests killed already
	}
	if left := leftovers(); left != "" {
		fmt.Fprintln(os.Stderr, "FAIL: the tests left these running:\n"+left)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

var (
	startedMu sync.Mutex
	// startedDirs are the scene directories and sockets the tests made.
	startedDirs    []string
	startedSockets []tmux.Socket
	// cuts let go of the lifelines of the servers on startedSockets.
	cuts []func() error
)

// remember notes a directory and a tmux socket a test made, for the check
// of what is left at the end, and ties the server on the socket to this
// process: should the run end before its cleanups (a timeout panics past
// them), the server is killed all the same.
func remember(dir string, sock tmux.Socket) {
	startedMu.Lock()
	defer startedMu.Unlock()
	startedDirs = append(startedDirs, dir)
	startedSockets = append(startedSockets, sock)
	if sock.Path != "" {
		if cut, err := lifeline.TmuxServer(sock.Path); err == nil {
			cuts = append(cuts, cut)
		}
	}
}

// leftovers lists processes whose command line names a directory a test
// made, and tmux servers a test started that still answer.
func leftovers() string {
	// One scan of the process table for every directory: on a busy host
	// under the race detector a scan takes a while.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	table, err := procscan.NewScanner().Scan(ctx)
	if err != nil {
		return "cannot scan processes: " + err.Error()
	}
	var out []string
	for _, p := range table.Procs {
		if p.PID == int32(os.Getpid()) || p.Zombie() {
			continue
		}
		for _, d := range startedDirs {
			if strings.Contains(p.Cmdline(), d) {
				out = append(out, fmt.Sprintf("PID %d names %s", p.PID, d))
				break
			}
		}
	}
	for _, s := range startedSockets {
		if snap, err := tmux.NewClient(s).Snapshot(ctx); err == nil && snap.Running {
			out = append(out, "tmux server "+s.String())
		}
	}
	return strings.Join(out, "\n")
}

// buildScene builds the demo scene with this test binary as its claude and
// removes it when the test ends, pass or fail.
func buildScene(t *testing.T) *demo.Scene {
	t.Helper()
	return buildSceneWith(t, demo.Options{})
}

// buildSceneWith is buildScene with options (the exe is this test binary).
func buildSceneWith(t *testing.T, opts demo.Options) *demo.Scene {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts.Exe = exe
	s, err := demo.Build(ctx, opts)
	if err != nil {
		t.Fatalf("build the scene: %v", err)
	}
	remember(s.Dir, s.Socket)
	// The tests run with --grace 1s: let the new untracked session age past
	// it, so that it is a leak rather than an agent still being registered.
	time.Sleep(1100 * time.Millisecond)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("close the scene: %v", err)
		}
	})
	return s
}

func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true // not Linux: signal 0 is the answer
	}
	// A zombie has exited.
	f := strings.Fields(string(st[strings.LastIndexByte(string(st), ')')+1:]))
	return len(f) > 0 && f[0] != "Z"
}

func rolePIDs(t *testing.T, s *demo.Scene, roles ...string) []int {
	t.Helper()
	have := s.Roles()
	var out []int
	for _, r := range roles {
		if len(have[r]) == 0 {
			t.Fatalf("the scene has no %s", r)
		}
		out = append(out, have[r]...)
	}
	return out
}

// sceneFlags point agentwatch at a scene, with a grace of one second.
func sceneFlags(s *demo.Scene) []string { return append(s.Flags(), "--grace", "1s") }

// ownClaudes is a --match that picks the claudes of scene s and no other:
// the fake claude of its bin directory, run with --scene naming it.
func ownClaudes(s *demo.Scene) []string {
	return []string{"--match", "^" + regexp.QuoteMeta(filepath.Join(s.Bin, demo.ClaudeName)) +
		" (.* )?--scene " + regexp.QuoteMeta(s.Dir) + "( |$)"}
}

func TestSceneCastIsFoundExactlyAndRepaired(t *testing.T) {
	sandbox(t)
	s := buildScene(t)
	flags := sceneFlags(s)

	out, code := checkJSONArgs(t, append([]string{"check", "--json"}, flags...)...)
	if code != 1 {
		t.Fatalf("check exit %d, want 1", code)
	}
	taskMain := filepath.Join(s.Base, demo.TaskMain, "AGENT_REGISTRY.json")
	taskDocs := filepath.Join(s.Base, demo.TaskDocs, "AGENT_REGISTRY.json")
	global := filepath.Join(s.Base, "registry", "GLOBAL_REGISTRY.json")
	roles := s.Roles()
	var got []string
	orphanPIDs := "none"
	for _, f := range out.Findings {
		if f["cause"] == "orphan_process" {
			b, _ := json.Marshal(f["pids"])
			orphanPIDs = string(b)
		}
		delete(f, "pids") // checked below, against the processes
		b, _ := json.Marshal(f)
		got = append(got, string(b))
	}
	slices.Sort(got)
	want := []string{
		fmt.Sprintf(`{"agent_id":%q,"cause":"session_not_found","completed_evidence":false,"kind":"ghost","registry":%q,"status":"working","task_id":%q,"tmux_session":"agent_%s"}`, s.Cast.Ghost, taskMain, demo.TaskMain, s.Cast.Ghost),
		fmt.Sprintf(`{"agent_id":%q,"cause":"session_not_found","completed_evidence":true,"kind":"ghost","registry":%q,"status":"working","task_id":%q,"tmux_session":"agent_%s"}`, s.Cast.GhostDone, taskDocs, demo.TaskDocs, s.Cast.GhostDone),
		fmt.Sprintf(`{"agent_id":%q,"cause":"untracked_session","kind":"leak","tmux_session":"agent_%s"}`, s.Cast.Untracked, s.Cast.Untracked),
		fmt.Sprintf(`{"agent_id":%q,"cause":"finished_agent","kind":"leak","tmux_session":"agent_%s"}`, s.Cast.Finished, s.Cast.Finished),
		fmt.Sprintf(`{"agent_id":%q,"cause":"orphan_process","kind":"leak","tmux_session":"agent_%s"}`, s.Cast.Escaped, s.Cast.Escaped),
		fmt.Sprintf(`{"actual":3,"field":"active_count","kind":"drift","recorded":5,"registry":%q}`, taskMain),
		fmt.Sprintf(`{"actual":5,"field":"active_agents","kind":"drift","recorded":9,"registry":%q}`, global),
		fmt.Sprintf(`{"actual":8,"field":"total_agents_spawned","kind":"drift","recorded":12,"registry":%q}`, global),
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("findings:\ngot  %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
	// Leaks list their whole trees: the orphan is the escaped claude.
	if w, _ := json.Marshal(roles["escaped:"+s.Cast.Escaped]); orphanPIDs != string(w) {
		t.Errorf("orphan pids = %s, want %s", orphanPIDs, w)
	}
	verdict := map[int]string{}
	for _, p := range out.Processes {
		m := p.(map[string]any)
		verdict[int(m["pid"].(float64))] = m["verdict"].(string)
	}
	for role, want := range map[string]string{"foreign": "foreign", "agent:" + s.Cast.Healthy1: "ok", "mcp:" + s.Cast.Healthy1: "ok",
		"agent:" + s.Cast.Healthy2: "ok", "agent:" + s.Cast.Healthy3: "ok", "agent:" + s.Cast.Finished: "leak", "agent:" + s.Cast.Untracked: "leak"} {
		for _, pid := range roles[role] {
			if verdict[pid] != want {
				t.Errorf("%s (PID %d) is %q, want %q", role, pid, verdict[pid], want)
			}
		}
	}

	leaked := rolePIDs(t, s, "agent:"+s.Cast.Finished, "agent:"+s.Cast.Untracked, "escaped:"+s.Cast.Escaped)
	kept := rolePIDs(t, s, "foreign", "agent:"+s.Cast.Healthy1, "mcp:"+s.Cast.Healthy1, "agent:"+s.Cast.Healthy2, "agent:"+s.Cast.Healthy3)
	r := agentwatch(t, append([]string{"repair", "--yes", "--kill-leaks", "--term-timeout", "2s"}, flags...)...)
	if r.code != 0 {
		t.Fatalf("repair exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, pid := range leaked {
		if alive(pid) {
			t.Errorf("leaked PID %d still runs after repair --kill-leaks", pid)
		}
	}
	for _, pid := range kept {
		if !alive(pid) {
			t.Errorf("PID %d (healthy or foreign) was killed", pid)
		}
	}
	if out, code := checkJSONArgs(t, append([]string{"check", "--json"}, flags...)...); code != 0 {
		t.Errorf("check after repair: exit %d, findings %v", code, findingLines(out.Findings))
	}

	// The ghosts hold exactly the fields a ghost repair writes.
	doc := func(path string) *pyjson.Value {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		v, err := pyjson.Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	entry := func(path, id string) *pyjson.Value {
		for _, e := range doc(path).Get("agents").Elems() {
			if e.Get("id").StrOr("") == id {
				return e
			}
		}
		t.Fatalf("%s not in %s", id, path)
		return nil
	}
	ghost := entry(taskMain, s.Cast.Ghost)
	if ghost.Get("status").StrOr("") != "terminated" || ghost.Get("termination_reason").StrOr("") != "session_not_found" ||
		ghost.Get("terminated_at").StrOr("") == "" || ghost.Get("last_update").StrOr("") != ghost.Get("terminated_at").StrOr("") ||
		ghost.Has("completed_at") {
		t.Errorf("terminated ghost entry: %s", ghost)
	}
	done := entry(taskDocs, s.Cast.GhostDone)
	if done.Get("status").StrOr("") != "completed" || done.Get("completed_at").StrOr("") == "" || done.Has("termination_reason") {
		t.Errorf("completed ghost entry: %s", done)
	}
	g := doc(global).Get("agents")
	if g.Get(s.Cast.Ghost).Get("status").StrOr("") != "terminated" || g.Get(s.Cast.GhostDone).Get("status").StrOr("") != "completed" {
		t.Errorf("global entries of the ghosts: %s / %s", g.Get(s.Cast.Ghost), g.Get(s.Cast.GhostDone))
	}
}

// startLeak starts an untracked agent session on the scene's server.
func startLeak(t *testing.T, s *demo.Scene, id string, extra ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.StartAgent(ctx, demo.TaskMain, id, extra...); err != nil {
		t.Fatal(err)
	}
	want := []string{"agent:" + id}
	if slices.Contains(extra, "--setsid-child") {
		want = append(want, "escaped:"+id)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		have := s.Roles()
		ok := true
		for _, r := range want {
			ok = ok && len(have[r]) > 0
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v did not start", want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestKillLeavesNoSurvivors(t *testing.T) {
	sandbox(t)
	s := buildScene(t)
	ctx := context.Background()

	// tmux kill-session alone: the claude that ignores SIGHUP and its setsid
	// child both survive.
	startLeak(t, s, "stubborn-111111-aaaaaa", "--ignore-hup", "--setsid-child")
	survivors := rolePIDs(t, s, "agent:stubborn-111111-aaaaaa", "escaped:stubborn-111111-aaaaaa")
	if err := s.Tmux().KillSession(ctx, "agent_stubborn-111111-aaaaaa"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	for _, pid := range survivors {
		if !alive(pid) {
			t.Errorf("PID %d died of kill-session; the test needs a survivor", pid)
		}
	}

	// agentwatch kill: the whole tree, with the session.
	startLeak(t, s, "stubborn-222222-bbbbbb", "--ignore-hup", "--setsid-child")
	tree := rolePIDs(t, s, "agent:stubborn-222222-bbbbbb", "escaped:stubborn-222222-bbbbbb")
	r := agentwatch(t, append([]string{"kill", "--yes", "--term-timeout", "1s", "agent_stubborn-222222-bbbbbb", "--grace", "0s"}, s.Flags()...)...)
	if r.code != 0 {
		t.Fatalf("kill exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, pid := range tree {
		if alive(pid) {
			t.Errorf("PID %d survived agentwatch kill", pid)
		}
	}
	if ok, _ := s.Tmux().HasSession(ctx, "agent_stubborn-222222-bbbbbb"); ok {
		t.Error("the session survived agentwatch kill")
	}
	// The survivors of kill-session name an agent no registry records, so
	// they are foreign now, not leaks: killing them by PID takes --force.
	for _, pid := range survivors {
		if !alive(pid) {
			continue // killed with its parent's tree
		}
		if r := agentwatch(t, append([]string{"kill", "--yes", fmt.Sprint(pid)}, s.Flags()...)...); r.code != 2 {
			t.Errorf("kill %d without --force: exit %d, want 2 (foreign)", pid, r.code)
		}
		r := agentwatch(t, append([]string{"kill", "--yes", "--force", "--term-timeout", "1s", fmt.Sprint(pid), "--grace", "0s"}, s.Flags()...)...)
		if r.code != 0 || alive(pid) {
			t.Errorf("kill %d: exit %d, alive %v\n%s%s", pid, r.code, alive(pid), r.stdout, r.stderr)
		}
	}
}

func TestKillMatchesExactSessionNames(t *testing.T) {
	sandbox(t)
	s := buildScene(t)
	startLeak(t, s, "twin-333333-cccccc")
	startLeak(t, s, "twin-333333-cccccc-2")
	twin := rolePIDs(t, s, "agent:twin-333333-cccccc-2")
	r := agentwatch(t, append([]string{"kill", "--yes", "--term-timeout", "1s", "agent_twin-333333-cccccc", "--grace", "0s"}, s.Flags()...)...)
	if r.code != 0 {
		t.Fatalf("kill exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if ok, _ := s.Tmux().HasSession(context.Background(), "agent_twin-333333-cccccc-2"); !ok {
		t.Error("killing agent_twin-333333-cccccc killed agent_twin-333333-cccccc-2 too")
	}
	for _, pid := range twin {
		if !alive(pid) {
			t.Errorf("PID %d of the other session was killed", pid)
		}
	}
}

func TestKillRefusesWhatIsNotALeak(t *testing.T) {
	sandbox(t)
	s := buildScene(t)
	healthy := rolePIDs(t, s, "agent:"+s.Cast.Healthy1)
	foreign := rolePIDs(t, s, "foreign")
	for _, target := range []string{fmt.Sprint(healthy[0]), fmt.Sprint(foreign[0]), "agent_" + s.Cast.Healthy2, demo.OpsSession, "1", fmt.Sprint(os.Getpid())} {
		r := agentwatch(t, append([]string{"kill", "--yes", target}, s.Flags()...)...)
		if r.code != 2 {
			t.Errorf("kill %s: exit %d, want 2 (refused)\n%s%s", target, r.code, r.stdout, r.stderr)
		}
	}
	for _, pid := range append(healthy, foreign...) {
		if !alive(pid) {
			t.Errorf("PID %d was killed without --force", pid)
		}
	}
}

func TestNoServerMeansGhostsUnlessClaudeNamesAnother(t *testing.T) {
	sandbox(t)
	base := copyFixtures(t)
	const planner = "jsonl_architecture_planner-215640-c3f469"
	ghostOf := func(out checkOut) bool {
		for _, f := range out.Findings {
			if f["kind"] == "ghost" && f["agent_id"] == planner {
				return true
			}
		}
		return false
	}
	// No tmux server anywhere: the working agent, past grace, is a ghost.
	out, code := checkJSONArgs(t, "check", "--json", "--workspace", base)
	if code != 1 || !ghostOf(out) {
		t.Fatalf("without any server: exit %d, findings %v; want the planner a ghost", code, findingLines(out.Findings))
	}
	// Other claudes on this machine may name servers of their own; the
	// default server comes first and is not running.
	if len(out.Servers) == 0 || out.Servers[0]["socket"] != "default" || out.Servers[0]["running"] != false {
		t.Errorf("servers = %v, want the default server first, not running", out.Servers)
	}

	// Its claude runs on a server nobody named; its TMUX variable names it.
	flags := liveFlags(t, base)
	out, code = checkJSONArgs(t, "check", "--json", "--workspace", base)
	if ghostOf(out) {
		t.Fatalf("the planner's claude runs on %s, yet it is a ghost: %v", flags[1], findingLines(out.Findings))
	}
	if code != 0 {
		t.Errorf("exit %d, want 0; findings %v", code, findingLines(out.Findings))
	}
	found := false
	for _, s := range out.Servers {
		if s["socket"] == "-S "+flags[1] && strings.HasPrefix(s["why"].(string), "named by TMUX of claude PID") && s["running"] == true {
			found = true
		}
	}
	if !found {
		t.Errorf("servers = %v, want %s scanned because a claude's TMUX names it", out.Servers, flags[1])
	}
}

func TestCertainGhosts(t *testing.T) {
	sandbox(t)
	s := buildScene(t)
	task := filepath.Join(s.Base, demo.TaskMain, "AGENT_REGISTRY.json")
	// register appends an agent entry under flock, as the orchestrator's
	// careful writer does.
	register := func(id string, startedAgo time.Duration) {
		python(t, `
import fcntl, datetime
p, id, ago = sys.argv[1], sys.argv[2], float(sys.argv[3])
with open(p, 'r+') as f:
    fcntl.flock(f, fcntl.LOCK_EX)
    o = json.load(f)
    t = (datetime.datetime.now() - datetime.timedelta(seconds=ago)).isoformat()
    o['agents'].append({'id': id, 'type': 'late', 'tmux_session': 'agent_' + id, 'status': 'working', 'started_at': t, 'last_update': t})
    o['active_count'] += 1; o['total_spawned'] += 1
    f.seek(0); f.write(json.dumps(o, indent=2)); f.truncate()
`, task, id, fmt.Sprint(startedAgo.Seconds()))
	}
	// completer starts the orchestrator's careful writer of a completion
	// and waits until it is ready (interpreter up, registry open), so that
	// what is left once it is released is a lock and a rewrite, not a
	// python3 start that takes seconds on a busy machine.
	completer := func(id string) (release func(), landed <-chan error) {
		cmd := exec.Command("python3", "-c", `
import fcntl, datetime, json, sys
p, id = sys.argv[1], sys.argv[2]
f = open(p, 'r+')
print('ready', flush=True)
sys.stdin.readline()
fcntl.flock(f, fcntl.LOCK_EX)
o = json.load(f)
for a in o['agents']:
    if a['id'] == id:
        a['status'] = 'completed'; a['completed_at'] = a['last_update'] = datetime.datetime.now().isoformat()
o['active_count'] -= 1; o['completed_count'] += 1
f.seek(0); f.write(json.dumps(o, indent=2)); f.truncate()
f.close()
`, task, id)
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr syncBuffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatalf("python3: %v", err)
		}
		exited := make(chan error, 1)
		t.Cleanup(func() {
			cmd.Process.Kill() // by PID; a writer that already exited is reaped
			stdin.Close()
		})
		ready := make([]byte, len("ready\n"))
		if _, err := io.ReadFull(stdout, ready); err != nil || string(ready) != "ready\n" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("the completion writer did not get ready: %q %v %s", ready, err, stderr.String())
		}
		go func() {
			err := cmd.Wait()
			if err != nil {
				err = fmt.Errorf("%v: %s", err, stderr.String())
			}
			exited <- err
		}()
		return func() { stdin.Write([]byte("go\n")) }, exited
	}
	// endSession kills the agent's session and waits until its claude has
	// exited: from then on nothing of the agent runs.
	endSession := func(id string) {
		pids := rolePIDs(t, s, "agent:"+id)
		if err := s.Tmux().KillSession(context.Background(), "agent_"+id); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); slices.ContainsFunc(pids, alive); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("agent %s (PIDs %v) still runs 10s after its session was killed", id, pids)
			}
		}
	}
	ghostsIn := func(out checkOut) []string {
		var ids []string
		for _, f := range out.Findings {
			if f["kind"] == "ghost" {
				ids = append(ids, f["agent_id"].(string))
			}
		}
		return ids
	}

	// The check looks, finds the agent's session gone, waits for in-flight
	// updates to land, and looks again. A completion the orchestrator
	// records in between is not a ghost: the writer is released when the
	// check first reads the task registry, and its exclusive lock waits for
	// that read to end, so it lands after the first look, and well before
	// the second (a lock and a rewrite against the settle's 1.5s).
	t.Run("a completion that lands after the first look is not a ghost", func(t *testing.T) {
		id := "finisher-120000-abcdef"
		register(id, 10*time.Minute)
		startLeak(t, s, id)
		release, landed := completer(id)
		endSession(id)
		read := firstRead(t, task)
		go func() {
			<-read
			release()
		}()
		out, _ := checkJSONArgs(t, append([]string{"check", "--json"}, sceneFlags(s)...)...)
		running := "had exited"
		var err error
		select {
		case err = <-landed:
		default:
			running = "still ran"
			select {
			case err = <-landed:
			case <-time.After(30 * time.Second):
				t.Fatal("the completion writer did not end in 30s after its release")
			}
		}
		if err != nil {
			t.Fatalf("the completion writer: %v", err)
		}
		if slices.Contains(ghostsIn(out), id) {
			t.Errorf("%s was reported a ghost though its completion was released on the check's first read (the writer %s when the check returned)", id, running)
		}
	})
	// The same agent without the completion: a ghost. Without this, the
	// case above could pass on a check that never saw the agent.
	t.Run("without the completion it is a ghost", func(t *testing.T) {
		id := "finisher-120001-abcdef"
		register(id, 10*time.Minute)
		startLeak(t, s, id)
		endSession(id)
		out, _ := checkJSONArgs(t, append([]string{"check", "--json"}, sceneFlags(s)...)...)
		if !slices.Contains(ghostsIn(out), id) {
			t.Errorf("%s, whose session ended and whose completion never came, is not a ghost: ghosts %v", id, ghostsIn(out))
		}
	})
	t.Run("inside --grace an agent is starting, not a ghost", func(t *testing.T) {
		id := "newcomer-120100-abcdef"
		register(id, 0)
		out, _ := checkJSONArgs(t, append([]string{"check", "--json", "--grace", "1m"}, s.Flags()...)...)
		if slices.Contains(ghostsIn(out), id) {
			t.Errorf("%s, inside grace, was reported a ghost", id)
		}
		verdict := ""
		for _, a := range out.Agents {
			if a["agent_id"] == id {
				verdict = a["verdict"].(string)
			}
		}
		if verdict != "starting" {
			t.Errorf("%s verdict %q, want starting", id, verdict)
		}
	})
}

func TestSceneMoves(t *testing.T) {
	sandbox(t)
	s := buildScene(t)
	ctx, cancel := context.WithCancel(context.Background())
	events := make(chan demo.Event, 8)
	done := make(chan error, 1)
	go func() { done <- s.Move(ctx, 300*time.Millisecond, events) }()
	got := map[string]string{}
	for len(got) < 3 {
		select {
		case ev := <-events:
			got[ev.What] = ev.AgentID
		case <-time.After(10 * time.Second):
			t.Fatalf("the scene did not move: %v", got)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// The agent that died lost its session; its claude goes on SIGHUP, which
	// a loaded machine may deliver late. A ghost is called once nothing of
	// it runs: wait for that, not for a time.
	deadline := time.Now().Add(30 * time.Second)
	for _, pid := range s.Roles()["agent:"+got["die"]] {
		for alive(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("the claude of the agent that died (PID %d) still runs", pid)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	out, _ := checkJSONArgs(t, append([]string{"check", "--json"}, sceneFlags(s)...)...)
	verdict := map[string]string{}
	for _, a := range out.Agents {
		verdict[a["agent_id"].(string)] = a["verdict"].(string)
	}
	if v := verdict[got["start"]]; v != "starting" && v != "ok" {
		t.Errorf("started agent %s is %q, want starting or ok", got["start"], v)
	}
	if v := verdict[got["finish"]]; v != "done" {
		t.Errorf("finished agent %s is %q, want done", got["finish"], v)
	}
	if v := verdict[got["die"]]; v != "ghost" {
		t.Errorf("agent %s that died without a word is %q, want ghost", got["die"], v)
	}
}

// syncBuffer is a bytes.Buffer safe for a command writing while the test
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestMetricsExportTheScene(t *testing.T) {
	sandbox(t)
	s := buildScene(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan int, 1)
	// The gauges add up every claude the scan sees: counted machine-wide,
	// another scene on the host would add its own. --match picks this
	// scene's claudes alone, and so the tmux servers they name.
	args := append([]string{"metrics", "--listen", "127.0.0.1:0", "--interval", "200ms"}, ownClaudes(s)...)
	go func() {
		done <- run(ctx, append(args, sceneFlags(s)...), strings.NewReader(""), &out, &errb)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("metrics did not stop")
		}
	})
	var url string
	deadline := time.Now().Add(10 * time.Second)
	for url == "" {
		if f := strings.Fields(out.String()); len(f) > 3 && strings.HasPrefix(f[3], "http://") {
			url = f[3]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no address printed: %q %q", out.String(), errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	want := map[string]string{
		"agentwatch_ghosts":                           "2",
		`agentwatch_leaks{cause="finished_agent"}`:    "1",
		`agentwatch_leaks{cause="orphan_process"}`:    "1",
		`agentwatch_leaks{cause="untracked_session"}`: "1",
		"agentwatch_foreign_claude_processes":         "1",
		`agentwatch_tmux_sessions{verdict="other"}`:   "1",
		`agentwatch_tmux_sessions{verdict="ok"}`:      "3",
		`agentwatch_tmux_sessions{verdict="leak"}`:    "2",
		"agentwatch_scan_duration_seconds_count":      "",
		`agentwatch_counter_drift{field="active_count",registry="` + filepath.Join(s.Base, demo.TaskMain, "AGENT_REGISTRY.json") + `"}`: "2",
		// counters and finding gauges exist before their first event
		`agentwatch_repairs_total{op="recount"}`:  "0",
		`agentwatch_kills_total{result="killed"}`: "0",
		`agentwatch_findings{kind="corrupt"}`:     "0",
		`agentwatch_findings{kind="ghost"}`:       "2",
		`agentwatch_findings{kind="unreadable"}`:  "0",
	}
	if !waitMetrics(t, url, want, deadline.Add(10*time.Second)) {
		return
	}
	// A registry that stops parsing keeps a series that says so.
	docs := filepath.Join(s.Base, demo.TaskDocs, "AGENT_REGISTRY.json")
	if err := os.WriteFile(docs, []byte(`{"task_id": "torn`), 0o644); err != nil {
		t.Fatal(err)
	}
	waitMetrics(t, url, map[string]string{
		`agentwatch_findings{kind="corrupt"}`:                                   "1",
		`agentwatch_sources{kind="task",source="` + docs + `",state="corrupt"}`: "1",
		`agentwatch_sources{kind="task",source="` + docs + `",state="ok"}`:      "0",
	}, time.Now().Add(20*time.Second))
}

// waitMetrics polls url until every series in want has its value ("" for
// any value), or reports the ones that do not by deadline.
func waitMetrics(t *testing.T, url string, want map[string]string, deadline time.Time) bool {
	t.Helper()
	var body string
	for {
		resp, err := http.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
		}
		ok := true
		for k, v := range want {
			line := metricLine(body, k)
			ok = ok && line != "" && (v == "" || line == v)
		}
		if ok {
			return true
		}
		if time.Now().After(deadline) {
			for k, v := range want {
				if got := metricLine(body, k); got != v && !(v == "" && got != "") {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// metricLine returns the value of one series in a Prometheus text body.
func metricLine(body, series string) string {
	for _, l := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(l, series+" "); ok {
			return v
		}
	}
	return ""
}

// TestDemoKeepsItsStateInTheScene runs `agentwatch demo --no-tui`, then
// the export and the check it prints, as printed, and a repair the same way;
// the repair's audit log and backups must go into the scene — not into the
// operator's state directory, whose undo would otherwise meet a sandbox —
// and SIGTERM must remove the scene with them.
func TestDemoKeepsItsStateInTheScene(t *testing.T) {
	operator := sandbox(t)
	d := startDemo(t)
	cmd, done, dir, xdg, check := d.cmd, d.done, d.dir, d.xdg, d.check
	if dir == "" || !strings.HasPrefix(dir, "/tmp/") {
		t.Fatalf("no scene directory in the output (got %q)", dir)
	}
	if !strings.HasPrefix(xdg, dir+"/") {
		t.Fatalf("the printed commands do not keep agentwatch's state in the scene %s (export XDG_STATE_HOME=%q)", dir, xdg)
	}
	_, flags, _ := strings.Cut(check, " check ")
	t.Setenv("XDG_STATE_HOME", xdg)
	args := strings.Fields(flags)
	if r := agentwatch(t, append([]string{"check"}, args...)...); r.code != 1 || !strings.Contains(r.stdout, "ghost") {
		t.Fatalf("the printed check (exit %d) found no ghost in the scene:\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := agentwatch(t, append([]string{"repair", "--yes"}, args...)...); r.code != 0 {
		t.Fatalf("repair of the scene: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(xdg, "agentwatch", "audit.jsonl")); err != nil {
		t.Errorf("the repair's audit log is not in the scene: %v", err)
	}
	if _, err := os.Stat(filepath.Dir(operator)); err == nil {
		if entries, _ := os.ReadDir(operator); len(entries) != 0 {
			t.Errorf("the operator's state directory %s got %d entries from a repair of the demo", operator, len(entries))
		}
	}

	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("demo did not end within 30 s of SIGTERM")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the scene %s is still there after SIGTERM (%v), with the demo's state in it", dir, err)
	}
}

// demoRun is a running `agentwatch demo --no-tui` and what it printed.
type demoRun struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the demo has exited
	// dir is the scene's directory, xdg the state directory its commands
	// export, check the check command it printed.
	dir, xdg, check string
}

// startDemo runs `agentwatch demo --no-tui` (this binary as agentwatch)
// until it has printed its commands. Cleanup ends it (SIGTERM, then
// SIGKILL) and tears its scene down.
func startDemo(t *testing.T) *demoRun {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	d := &demoRun{cmd: exec.Command(exe, "demo", "--no-tui"), done: make(chan struct{})}
	d.cmd.Env = append(os.Environ(), "AGENTWATCH_TEST_AS_MAIN=1")
	out, err := d.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		d.cmd.Wait()
		close(d.done)
	}()
	t.Cleanup(func() {
		d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(30 * time.Second):
			d.cmd.Process.Kill()
			<-d.done
		}
		if d.dir != "" {
			demo.Teardown(context.Background(), d.dir, tmux.Socket{Path: filepath.Join(d.dir, "sock")})
		}
	})

	// The lines it prints: "demo scene in DIR", then the commands.
	lines := make(chan string)
	go func() {
		defer close(lines)
		buf := make([]byte, 0, 4096)
		for {
			chunk := make([]byte, 1024)
			n, err := out.Read(chunk)
			buf = append(buf, chunk[:n]...)
			for {
				i := strings.IndexByte(string(buf), '\n')
				if i < 0 {
					break
				}
				lines <- string(buf[:i])
				buf = buf[i+1:]
			}
			if err != nil {
				return
			}
		}
	}()
	for deadline := time.After(60 * time.Second); d.check == ""; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("demo --no-tui ended before it printed its commands")
			}
			if dir, ok := strings.CutPrefix(l, "demo scene in "); ok {
				d.dir = dir
			}
			if x, ok := strings.CutPrefix(strings.TrimSpace(l), "export XDG_STATE_HOME="); ok {
				d.xdg = x
			}
			if strings.Contains(l, " check --workspace ") {
				d.check = strings.TrimSpace(l)
			}
		case <-deadline:
			t.Fatal("demo --no-tui printed no check command in 60 s")
		}
	}
	go func() {
		for range lines { // keep the pipe drained
		}
	}()
	if d.dir == "" || !strings.HasPrefix(d.dir, "/tmp/") {
		t.Fatalf("no scene directory in the output (got %q)", d.dir)
	}
	return d
}

// TestAKilledDemoLeavesNothingRunning: SIGKILL gives the demo no chance to
// clean up; its scene's reaper, whose input ends with the demo, tears the
// scene down: its tmux server, every process naming it, its directory —
// also when the server is stopped and answers nobody.
func TestAKilledDemoLeavesNothingRunning(t *testing.T) {
	for _, stop := range []bool{false, true} {
		t.Run(fmt.Sprintf("server stopped %v", stop), func(t *testing.T) { killDemo(t, stop) })
	}
}

func killDemo(t *testing.T, stop bool) {
	sandbox(t)
	d := startDemo(t)
	sock := tmux.Socket{Path: filepath.Join(d.dir, "sock")}
	snap, err := tmux.NewClient(sock).Snapshot(context.Background())
	if err != nil || !snap.Running {
		t.Fatalf("the scene's server is not running: %+v, %v", snap, err)
	}
	if stop {
		server := snap.ServerPID
		t.Cleanup(func() { syscall.Kill(server, syscall.SIGCONT) })
		if err := syscall.Kill(server, syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
	}
	// Its reaper waits. (Any later scene's build would reap the scene as
	// an orphan too, but only once one is built.)
	table, err := procscan.NewScanner().Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	reaper := false
	for _, p := range table.Procs {
		if len(p.Argv) > 0 && p.Argv[0] == filepath.Join(d.dir, "bin", demo.ReaperName) && !p.Zombie() {
			reaper = true
		}
	}
	if !reaper {
		t.Fatalf("no reaper of the scene %s runs", d.dir)
	}
	d.cmd.Process.Kill()
	<-d.done
	deadline := time.Now().Add(90 * time.Second)
	for {
		left, nerr := demo.Naming(context.Background(), d.dir)
		_, serr := os.Stat(d.dir)
		if nerr == nil && len(left) == 0 && os.IsNotExist(serr) {
			// Its socket gone with the directory, no server answers there.
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("90 s after the demo was killed: processes naming the scene %v (%v), directory %v", left, nerr, serr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
