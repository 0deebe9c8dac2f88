package reconcile

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"agentwatch/registry"
)

// No verdict without a proven owner: operators run several projects on one
// tmux server, and a session of a workspace base agentwatch did not read
// looks exactly like one that no registry records. So a session, or a
// process, is judged a leak only when what it carries ties it to a base
// that was scanned and read completely. What a pane carries: the
// orchestrator starts every agent as
//
//	bash -c "… cd DIR && … | CLAUDE … | tee <base>/TASK-…/logs/<id>_stream.jsonl; …"
//
// so the pane shell's command line, and tee's, name the base; the pane's
// working directory is the project whose .agent-workspace the base is.

// taskDirLen is the length of a task directory's name,
// TASK-YYYYMMDD-HHMMSS-<8 hex>.
const taskDirLen = len("TASK-20060102-150405-0123abcd")

// BasesNamedIn returns the workspace bases that the strings name: for every
// absolute path in them that runs through a task directory
// (<base>/TASK-YYYYMMDD-HHMMSS-<8 hex>/…), its base, cleaned, in order of
// first mention, each once.
func BasesNamedIn(texts ...string) []string {
	var out []string
	for _, r := range tasksNamedIn(texts...) {
		if !slices.Contains(out, r.base) {
			out = append(out, r.base)
		}
	}
	return out
}

// taskRef is a task directory named in a command line: its base and name,
// and the whole path that runs through it.
type taskRef struct{ base, task, path string }

// tasksNamedIn returns the task directories the strings name, in order of
// first mention, each once (see BasesNamedIn).
func tasksNamedIn(texts ...string) []taskRef {
	var out []taskRef
	for _, s := range texts {
		for i := 0; ; {
			j := strings.Index(s[i:], "/TASK-")
			if j < 0 {
				break
			}
			at := i + j // the slash before TASK-
			i = at + 1
			end := at + 1 + taskDirLen
			if end > len(s) || !registry.IsTaskDir(s[at+1:end]) {
				continue
			}
			if end < len(s) && s[end] != '/' && !pathEnd(s[end]) {
				continue
			}
			start := quoteStart(s, at)
			if start < 0 {
				start = at
				for start > 0 && !pathEnd(s[start-1]) {
					start--
				}
			}
			dir := s[start:at]
			if !strings.HasPrefix(dir, "/") {
				continue
			}
			stop := end
			for stop < len(s) && !pathEnd(s[stop]) {
				stop++
			}
			r := taskRef{base: filepath.Clean(dir), task: s[at+1 : end], path: s[start:stop]}
			if !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
	}
	return out
}

// quoteStart returns, when position i of a shell line lies inside single
// quotes, where the quoted word starts (after its quote): a quoted path may
// hold spaces. -1 when i is not inside single quotes.
func quoteStart(s string, i int) int {
	open := -1
	for j := 0; j < i; j++ {
		if s[j] == '\'' {
			if open < 0 {
				open = j + 1
			} else {
				open = -1
			}
		}
	}
	return open
}

// pathEnd reports whether c ends a path written in a command line: a space
// or a quote (the orchestrator quotes every path with single quotes).
func pathEnd(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\'', '"', '=', ';', '|', '&', '(', ')', '<', '>':
		return true
	}
	return false
}

// owner is the workspace base a session or process belongs to, and how
// that was found; task is its task directory when what named the base
// named that too.
type owner struct {
	base, task string
	how        string
}

// sessionOwner finds the base of a session from what its processes carry:
// a path under a base in a command line of its tree (a scanned base first,
// the deepest when bases nest), or a pane's working directory that is a
// scanned base's project directory. The zero owner when nothing names one.
func (l *live) sessionOwner(tree []int32) owner {
	t := l.lv.Procs
	if t == nil {
		return owner{}
	}
	var named owner
	for _, pid := range tree {
		p := t.Procs[pid]
		if p == nil {
			continue
		}
		how := func() string { return fmt.Sprintf("PID %d, %s, names it", pid, p.Comm) }
		for _, arg := range p.Argv {
			if b := l.scannedBaseIn(arg); b != "" {
				o := owner{base: b, how: how()}
				for _, r := range tasksNamedIn(arg) {
					if r.base == b {
						o.task = r.task
						break
					}
				}
				return o
			}
			if named.base == "" {
				if rs := tasksNamedIn(arg); len(rs) > 0 {
					named = owner{base: rs[0].base, task: rs[0].task, how: how()}
				}
			}
		}
		if cwd := l.lv.Cwd[pid]; cwd != "" {
			for _, b := range l.w.scannedDirs() {
				if filepath.Dir(b) == filepath.Clean(cwd) && filepath.Base(b) == ".agent-workspace" {
					return owner{base: b, how: fmt.Sprintf("PID %d, %s, works in its project directory", pid, p.Comm)}
				}
			}
		}
	}
	return named
}

// A session is an agent's by its name, agent_<id>, unless it proves itself
// another workspace's: two projects may hold agents of the same id (a copy
// of a project beside the original), and their sessions share the name.
// The proof is the one thing a pane carries about the agent it runs: the
// path its stream log is tee'd to, <base>/TASK-…/logs/<id>_stream.jsonl. A
// session whose processes tee that agent's log under another base, and
// under none that is the agent's own (a base may be spelled through a
// symbolic link), belongs to that other base. Any other path a pane names
// (a prompt, an --add-dir, a file to read) proves nothing.

// logBases returns the bases under which the processes of tree tee agent
// id's stream log, each once, in order.
func (l *live) logBases(tree []int32, id string) []string {
	t := l.lv.Procs
	if t == nil || id == "" {
		return nil
	}
	suffix := "/logs/" + id + "_stream.jsonl"
	var out []string
	for _, pid := range tree {
		p := t.Procs[pid]
		if p == nil {
			continue
		}
		for _, arg := range p.Argv {
			if !strings.Contains(arg, suffix) {
				continue
			}
			for _, r := range tasksNamedIn(arg) {
				if strings.HasSuffix(r.path, "/"+r.task+suffix) && !slices.Contains(out, r.base) {
					out = append(out, r.base)
				}
			}
		}
	}
	return out
}

// otherBase returns the base the processes of tree prove they belong to,
// when it is not base: ok is false when they tee agent id's log under
// base, or under no base at all.
func (l *live) otherBase(tree []int32, id, base string) (string, bool) {
	bases := l.logBases(tree, id)
	for _, b := range bases {
		if l.sameDir(b, base) {
			return "", false
		}
	}
	if len(bases) == 0 {
		return "", false
	}
	return l.scannedSpelling(bases[0]), true
}

// sessionElsewhere reports whether a session on server proves itself
// another base's than agent a's, and which; asked once a session and agent.
func (l *live) sessionElsewhere(server int, name string, a *agentState) (string, bool) {
	k := elsewhereKey{paneKey{server, name}, a.row.Key}
	if v, ok := l.elsewhere[k]; ok {
		return v, v != ""
	}
	other, ok := l.otherBase(l.treeOfSession(server, name), a.row.ID, a.row.Base)
	if l.elsewhere == nil {
		l.elsewhere = map[elsewhereKey]string{}
	}
	l.elsewhere[k] = other
	return other, ok
}

type elsewhereKey struct {
	session paneKey
	agent   string
}

// procElsewhere is sessionElsewhere for a process: its session's answer,
// or, out of every session, what it and its ancestors tee.
func (l *live) procElsewhere(pid int32, a *agentState) (string, bool) {
	if at := l.attr[pid]; at.session != "" && at.server >= 0 {
		return l.sessionElsewhere(at.server, at.session, a)
	}
	if l.lv.Procs == nil {
		return "", false
	}
	return l.otherBase(append([]int32{pid}, l.lv.Procs.Ancestors(pid)...), a.row.ID, a.row.Base)
}

// agentIn is the agent of id in base (spelled as the scan knows it).
func (l *live) agentIn(base, id string) *agentState {
	if i, ok := l.agents[base][id]; ok {
		return &l.states[i]
	}
	for _, a := range l.order { // an id that tmux spells otherwise in the session's name
		if a.row.Base == base && (a.row.ID == id || TmuxName(a.row.ID) == id) {
			return a
		}
	}
	return nil
}

// sameDir is registry.SamePath, asked once a pair.
func (l *live) sameDir(a, b string) bool {
	a, b = filepath.Clean(a), filepath.Clean(b)
	if a == b {
		return true
	}
	k := [2]string{a, b}
	if same, ok := l.sameDirs[k]; ok {
		return same
	}
	same := registry.SamePath(a, b)
	if l.sameDirs == nil {
		l.sameDirs = map[[2]string]bool{}
	}
	l.sameDirs[k] = same
	return same
}

// scannedSpelling is the scanned base that dir is, as the scan spells it;
// dir itself when it is none.
func (l *live) scannedSpelling(dir string) string {
	for _, b := range l.w.scannedDirs() {
		if l.sameDir(b, dir) {
			return b
		}
	}
	return dir
}

// scannedBaseIn returns the scanned base whose directory s names (as a
// path prefix), the longest when several do; "" for none.
func (l *live) scannedBaseIn(s string) string {
	best := ""
	for _, b := range l.w.scannedDirs() {
		if len(b) > len(best) && strings.Contains(s, b+"/") {
			best = b
		}
	}
	return best
}

// scannedDirs lists the scanned bases' directories, sorted.
func (w *world) scannedDirs() []string {
	if w.scannedList == nil {
		w.scannedList = []string{}
		for dir, b := range w.bases {
			if b.scanned {
				w.scannedList = append(w.scannedList, filepath.Clean(dir))
			}
		}
		slices.Sort(w.scannedList)
	}
	return w.scannedList
}

// untracked judges an agent session that no registry read here records,
// by its owner: a leak only when it belongs to a base that was scanned and
// read completely and it is older than grace; otherwise other, saying
// whose it is when that is known, or starting while it is young.
func (l *live) untracked(r *SessionRow, id string, o owner, young bool, created time.Duration) {
	r.AgentID = id
	b := l.w.bases[o.base]
	switch {
	case o.base == "":
		r.Verdict, r.Reason = VerdictOther, fmt.Sprintf("agent %s is in no registry read here, and nothing in its panes names a workspace: not judged", id)
	case b == nil || !b.scanned:
		r.Verdict, r.Reason = VerdictOther, fmt.Sprintf("belongs to %s, not scanned (%s): add --workspace %s", o.base, o.how, o.base)
	case b.unread(o.task) != "":
		r.Verdict, r.Reason = VerdictOther, fmt.Sprintf("belongs to %s, which could not be read completely (%s): not judged", o.base, b.unread(o.task))
	case young:
		r.Verdict, r.Reason = VerdictStarting, fmt.Sprintf("not in %s's registry yet, created %s ago (grace %s)", o.base, age(created), l.grace)
	default:
		r.Verdict, r.Cause, r.Reason = VerdictLeak, CauseUntrackedSession, fmt.Sprintf("no registry of %s records agent %s; %s", o.base, id, o.how)
	}
}
