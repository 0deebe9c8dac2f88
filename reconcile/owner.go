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

// taskRef is a task directory named in a command line: its base and name.
type taskRef struct{ base, task string }

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
			r := taskRef{base: filepath.Clean(dir), task: s[at+1 : end]}
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
		for _, arg := range p.Argv {
			how := fmt.Sprintf("PID %d, %s, names it", pid, p.Comm)
			if b := l.scannedBaseIn(arg); b != "" {
				o := owner{base: b, how: how}
				for _, r := range tasksNamedIn(arg) {
					if r.base == b {
						o.task = r.task
						break
					}
				}
				return o
			}
			if rs := tasksNamedIn(arg); named.base == "" && len(rs) > 0 {
				named = owner{base: rs[0].base, task: rs[0].task, how: how}
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

// ownerOfSession is the owner of a session's tree, asked once a session.
func (l *live) ownerOfSession(server int, name string) owner {
	k := paneKey{server, name}
	if o, ok := l.owners[k]; ok {
		return o
	}
	o := l.sessionOwner(l.treeOfSession(server, name))
	if l.owners == nil {
		l.owners = map[paneKey]owner{}
	}
	l.owners[k] = o
	return o
}

// procOwner is the owner of a process: its session's, or, for a process
// out of every session, what it and its ancestors name.
func (l *live) procOwner(pid int32) owner {
	if a := l.attr[pid]; a.session != "" && a.server >= 0 {
		return l.ownerOfSession(a.server, a.session)
	}
	if l.lv.Procs == nil {
		return owner{}
	}
	return l.sessionOwner(append([]int32{pid}, l.lv.Procs.Ancestors(pid)...))
}

// elsewhere reports whether o proves its session or process another
// base's than base. Two workspaces may hold agents of the same id (a copy
// of a project beside the original, one task directory restored into
// another workspace): a session is an agent's by its name only when
// nothing in it names another base.
func elsewhere(o owner, base string) bool {
	return o.base != "" && filepath.Clean(o.base) != filepath.Clean(base)
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
