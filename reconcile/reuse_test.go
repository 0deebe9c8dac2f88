package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"

	"agentwatch/procscan"
	"agentwatch/registry"
	"agentwatch/registry/pyjson"
)

// hashed gives every registry of in the hash of its document, as the
// engine gives the hash of the bytes it read.
func hashed(in Input) Input {
	in.Registries = append([]Registry(nil), in.Registries...)
	for i, r := range in.Registries {
		if r.Root != nil {
			sum := sha256.Sum256(pyjson.Encode(r.Root))
			in.Registries[i].Hash = hex.EncodeToString(sum[:])
		}
	}
	return in
}

// forget is m without the analysis it keeps: Observe with it analyzes.
func forget(m *Memory) *Memory { return &Memory{Suspects: m.Suspects, Verdicts: m.Verdicts} }

// at is in at a later time.
func at(in Input, d time.Duration) Input {
	in.Now = in.Now.Add(d)
	return in
}

// TestObserveReusesOnlyWhatHolds: Observe gives its previous report again
// only when a full analysis of the new input would give the same report,
// and a change the analysis reads (a registry's bytes, a process, a
// session, time passing a threshold or an age shown in a reason, a
// suspect's second look) is analyzed.
func TestObserveReusesOnlyWhatHolds(t *testing.T) {
	p1, procs1 := agentPane("a-1", 100)
	p2, procs2 := agentPane("a-2", 200)
	steady := liveWorld{
		agents:   []agent{{id: "a-1", status: "working"}, {id: "a-2", status: "working"}},
		sessions: []pane{p1, p2},
		procs:    append(procs1, procs2...),
	}
	cases := []struct {
		name string
		// first is the world analyzed first; next makes the second input
		// from the first one's.
		first liveWorld
		next  func(t *testing.T, in Input) Input
		// once: the first analysis has no memory (a suspect stays one).
		once   bool
		reused bool
		check  func(t *testing.T, rep Report)
	}{
		{name: "nothing changed, a second later", first: steady, reused: true,
			next: func(t *testing.T, in Input) Input { return at(in, time.Second) }},
		{name: "a process outside every pane and claude came", first: steady, reused: true,
			next: func(t *testing.T, in Input) Input {
				lw := steady
				lw.procs = append(append([]*procscan.Proc(nil), steady.procs...), proc(9000, 1, 9000, "/usr/bin/make", "all"))
				return at(hashed(lw.input(t)), time.Second)
			}},
		{name: "a registry's bytes changed", first: steady,
			next: func(t *testing.T, in Input) Input {
				lw := steady
				lw.agents = []agent{{id: "a-1", status: "working"}, {id: "a-2", status: "completed"}}
				return at(hashed(lw.input(t)), time.Second)
			},
			check: func(t *testing.T, rep Report) { wantVerdict(t, rep, "agent a-2", "leak finished_agent") }},
		{name: "a registry without a hash", first: steady,
			next: func(t *testing.T, in Input) Input {
				in.Registries = append([]Registry(nil), in.Registries...)
				in.Registries[0].Hash = ""
				return at(in, time.Second)
			}},
		{name: "a process started in an agent's pane", first: steady,
			next: func(t *testing.T, in Input) Input {
				lw := steady
				lw.procs = append(append([]*procscan.Proc(nil), steady.procs...), proc(150, 101, 100, "/usr/bin/git", "status"))
				return at(hashed(lw.input(t)), time.Second)
			},
			check: func(t *testing.T, rep Report) { wantVerdict(t, rep, "pid 150", "ok") }},
		{name: "an agent's session is gone", first: steady,
			next: func(t *testing.T, in Input) Input {
				lw := steady
				lw.sessions, lw.procs = []pane{p1}, procs1
				return at(hashed(lw.input(t)), time.Second)
			},
			check: func(t *testing.T, rep Report) { wantVerdict(t, rep, "agent a-2", "suspect session_not_found") }},
		{name: "a suspect's second look", once: true, reused: false,
			first: liveWorld{agents: []agent{{id: "a-9", status: "working"}}},
			next:  func(t *testing.T, in Input) Input { return at(in, time.Second) },
			check: func(t *testing.T, rep Report) { wantVerdict(t, rep, "agent a-9", "ghost session_not_found") }},
		{name: "grace runs out",
			first: liveWorld{agents: steady.agents, sessions: steady.sessions, procs: steady.procs,
				started: map[string]time.Duration{"a-1": 25 * time.Second}},
			next:  func(t *testing.T, in Input) Input { return at(in, 6*time.Second) },
			check: func(t *testing.T, rep Report) { wantVerdict(t, rep, "agent a-1", "ok") }},
		{name: "a starting agent's age moves",
			first: liveWorld{agents: steady.agents, sessions: steady.sessions, procs: steady.procs,
				started: map[string]time.Duration{"a-1": 10 * time.Second}},
			next: func(t *testing.T, in Input) Input { return at(in, time.Second) },
			check: func(t *testing.T, rep Report) {
				if r := agentRow(rep, "a-1"); !strings.Contains(r.Reason, "started 11s ago") {
					t.Errorf("reason %q, want started 11s ago", r.Reason)
				}
			}},
		{name: "an agent turns stale",
			first: liveWorld{agents: []agent{{id: "a-1", status: "working", lastUpdate: registry.FormatTimestamp(now.Add(-30*time.Minute + time.Second))}},
				sessions: []pane{p1}, procs: procs1},
			next:  func(t *testing.T, in Input) Input { return at(in, 2*time.Second) },
			check: func(t *testing.T, rep Report) { wantVerdict(t, rep, "agent a-1", "stale") }},
		{name: "a stale agent's age reads the same a second later", reused: true,
			first: liveWorld{agents: []agent{{id: "a-1", status: "working", lastUpdate: registry.FormatTimestamp(now.Add(-45 * time.Minute))}},
				sessions: []pane{p1}, procs: procs1},
			next: func(t *testing.T, in Input) Input { return at(in, time.Second) }},
		{name: "a stale agent's age moves a minute later",
			first: liveWorld{agents: []agent{{id: "a-1", status: "working", lastUpdate: registry.FormatTimestamp(now.Add(-45 * time.Minute))}},
				sessions: []pane{p1}, procs: procs1},
			next: func(t *testing.T, in Input) Input { return at(in, time.Minute) },
			check: func(t *testing.T, rep Report) {
				if r := agentRow(rep, "a-1"); !strings.Contains(r.Reason, "46m0s") {
					t.Errorf("reason %q, want no update for 46m0s", r.Reason)
				}
			}},
		{name: "the clock went back", first: steady,
			next: func(t *testing.T, in Input) Input { return at(in, -time.Second) }},
		{name: "a claude's command line changed (it exec'd)", first: steady,
			next: func(t *testing.T, in Input) Input {
				return withProc(in, 101, func(p *procscan.Proc) { p.Argv = append(p.Argv, "--resume") })
			},
			check: func(t *testing.T, rep Report) { wantVerdict(t, rep, "agent a-1", "ok") }},
		{name: "a claude's TMUX_PANE is readable now", first: steady,
			next: func(t *testing.T, in Input) Input {
				return withProc(in, 101, func(p *procscan.Proc) { p.TMUX, p.TMUXPane = "/tmp/tmux-0/default,1,0", "%100" })
			}},
		{name: "a ghost's stream log ends with a result line now", first: liveWorld{agents: []agent{{id: "a-9", status: "working"}}},
			next: func(t *testing.T, in Input) Input {
				return withLive(in, func(lv *Live) { lv.Evidence = map[string]bool{"a-9": true} })
			},
			check: func(t *testing.T, rep Report) {
				if !agentRow(rep, "a-9").CompletedEvidence {
					t.Error("a-9's completion evidence is not shown")
				}
			}},
		{name: "a session was confirmed", first: liveWorld{agents: []agent{{id: "a-9", status: "working"}}},
			next: func(t *testing.T, in Input) Input {
				return withLive(in, func(lv *Live) { lv.Confirm = map[string]bool{"agent_a-9": true} })
			}},
		{name: "an active agent's stream log grew", first: withLogs(steady, "a-1", "a-2"), reused: true,
			next: func(t *testing.T, in Input) Input {
				return withLive(in, func(lv *Live) { lv.LogModified = grow(lv.LogModified, "a-1", in.Now.Add(time.Second)) })
			},
			check: func(t *testing.T, rep Report) {
				if r := agentRow(rep, "a-1"); r.LastSignFrom != "stream log" || !r.LastSign.Equal(now.Add(time.Second)) {
					t.Errorf("a-1's last sign of life: %v from %q, want the log's new time", r.LastSign, r.LastSignFrom)
				}
			}},
		{name: "a stale agent's stream log grew",
			first: liveWorld{agents: []agent{{id: "a-1", status: "working", lastUpdate: registry.FormatTimestamp(now.Add(-45 * time.Minute))}},
				sessions: []pane{p1}, procs: procs1, logs: map[string]time.Time{"a-1": now.Add(-40 * time.Minute)}},
			next: func(t *testing.T, in Input) Input {
				return withLive(in, func(lv *Live) { lv.LogModified = grow(lv.LogModified, "a-1", in.Now.Add(time.Second)) })
			},
			check: func(t *testing.T, rep Report) { wantVerdict(t, rep, "agent a-1", "ok") }},
		{name: "a stream log appeared", first: withLogs(steady, "a-1"),
			next: func(t *testing.T, in Input) Input {
				return withLive(in, func(lv *Live) { lv.LogModified = grow(lv.LogModified, "a-2", in.Now) })
			}},
		{name: "the status sets changed", first: steady,
			next: func(t *testing.T, in Input) Input {
				in.Sets = registry.StatusSets{Active: []string{"running"}, Terminal: append([]string{"working"}, in.Sets.Terminal...),
					TaskTerminal: in.Sets.TaskTerminal}
				return at(in, time.Second)
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in1 := hashed(c.first.input(t))
			var mem *Memory
			if !c.once {
				_, mem = Observe(in1, nil) // a first look: suspects are ghosts on the second
			}
			rep1, mem1 := Observe(in1, mem)
			in2 := c.next(t, in1)
			got, _ := Observe(in2, mem1)
			want, _ := Observe(in2, forget(mem1))
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got a report unlike a full analysis's:\ngot  %v\nwant %v", verdictsOf(got), verdictsOf(want))
			}
			// A reused report keeps the first one's rows (its agents' copied
			// when a grown log moved a last sign of life).
			reused := sameArray(got.Agents, rep1.Agents) || (len(got.Sessions) > 0 && sameArray(got.Sessions, rep1.Sessions))
			if reused != c.reused {
				t.Errorf("reused %v, want %v", reused, c.reused)
			}
			if c.check != nil {
				c.check(t, got)
			}
		})
	}
}

// withLogs is lw whose agents ids have stream logs, last written a
// minute before now.
func withLogs(lw liveWorld, ids ...string) liveWorld {
	lw.logs = map[string]time.Time{}
	for _, id := range ids {
		lw.logs[id] = now.Add(-time.Minute)
	}
	return lw
}

// grow is logs with id's log written at t, in a copy.
func grow(logs map[string]time.Time, id string, t time.Time) map[string]time.Time {
	out := maps.Clone(logs)
	out[id] = t
	return out
}

// withProc is in a second later, with the process pid changed by edit in
// a copy of the table: the first input's table stays as it was.
func withProc(in Input, pid int32, edit func(*procscan.Proc)) Input {
	return withLive(in, func(lv *Live) {
		procs := make(map[int32]*procscan.Proc, len(lv.Procs.Procs))
		for k, p := range lv.Procs.Procs {
			procs[k] = p
		}
		q := *procs[pid]
		q.Argv = append([]string(nil), q.Argv...)
		edit(&q)
		procs[pid] = &q
		lv.Procs = &procscan.Table{Time: lv.Procs.Time, Procs: procs, Children: lv.Procs.Children}
	})
}

// withLive is in a second later, with a copy of its live part changed by
// edit.
func withLive(in Input, edit func(*Live)) Input {
	lv := *in.Live
	edit(&lv)
	in.Live = &lv
	return at(in, time.Second)
}

// TestObserveReuseClearsNew: a report given again marks no row New, as a
// second analysis would not, and leaves the first report's rows alone.
func TestObserveReuseClearsNew(t *testing.T) {
	p1, procs1 := agentPane("a-1", 100)
	lw := liveWorld{agents: []agent{{id: "a-1", status: "completed"}}, sessions: []pane{p1}, procs: procs1}
	in := hashed(lw.input(t))
	_, mem0 := Observe(hashed(liveWorld{agents: lw.agents}.input(t)), nil) // before the leak
	rep1, mem1 := Observe(in, mem0)
	if !agentRow(rep1, "a-1").New {
		t.Fatal("the leak is not New on the scan that finds it")
	}
	rep2, mem2 := Observe(at(in, time.Second), mem1)
	want, _ := Observe(at(in, time.Second), forget(mem1))
	if !reflect.DeepEqual(rep2, want) {
		t.Errorf("got %v, want %v", verdictsOf(rep2), verdictsOf(want))
	}
	if agentRow(rep2, "a-1").New || !agentRow(rep1, "a-1").New {
		t.Errorf("New: given again %v, first report %v; want false, true", agentRow(rep2, "a-1").New, agentRow(rep1, "a-1").New)
	}
	if rep3, _ := Observe(at(in, 2*time.Second), mem2); !sameArray(rep3.Agents, rep2.Agents) {
		t.Error("the cleared report is not given again on the next scan")
	}
}

// TestAgeTick: age reads the same until its tick has passed.
func TestAgeTick(t *testing.T) {
	for _, d := range []time.Duration{0, 499 * time.Millisecond, 500 * time.Millisecond, 10300 * time.Millisecond,
		59700 * time.Millisecond, time.Minute, 45*time.Minute + 29*time.Second, 45*time.Minute + 30*time.Second,
		59*time.Minute + 40*time.Second, 3*time.Hour + 20*time.Minute} {
		tick := ageTick(d)
		if tick <= 0 {
			t.Errorf("ageTick(%v) = %v, want > 0", d, tick)
			continue
		}
		if got, want := age(d+tick-time.Nanosecond), age(d); got != want {
			t.Errorf("age(%v) = %s, before the tick %v at %v; want %s", d+tick-time.Nanosecond, got, tick, d, want)
		}
	}
	if tick := ageTick(-time.Second); tick != 0 {
		t.Errorf("ageTick(-1s) = %v, want 0", tick)
	}
}

func agentRow(rep Report, id string) AgentRow {
	for _, a := range rep.Agents {
		if a.ID == id {
			return a
		}
	}
	return AgentRow{}
}

func wantVerdict(t *testing.T, rep Report, key, want string) {
	t.Helper()
	if got := verdictsOf(rep)[key]; got != want {
		t.Errorf("%s: got %q, want %q", key, got, want)
	}
}

// sameArray reports whether a and b are the same elements of one array:
// the report was given again, not made anew.
func sameArray[T any](a, b []T) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}
