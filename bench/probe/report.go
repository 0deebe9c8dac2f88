package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// The targets of issue 5, item 3, and of issue 11.
const (
	targetCheckRatio = 1.0
	targetScanRatio  = 0.5
	targetCPURatio   = 1.0
	targetCodecMs    = 50.0
	targetLockMs     = 20.0
	targetRSSMB      = 60.0
	targetBigRSSMB   = 150.0
	targetFrameMs    = 16.0
)

// row is one line of the results table.
type row struct {
	what, agentwatch, baseline, value, target, verdict string
}

func verdict(ok bool) string {
	if ok {
		return "pass"
	}
	return "**miss**"
}

// readJSON reads dir/name into v; a missing file leaves v as it is and
// reports false.
func readJSON(dir, name string, v any) (bool, error) {
	data, err := os.ReadFile(filepath.Join(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("%s: %w", name, err)
	}
	return true, nil
}

func readText(dir, name string) string {
	data, _ := os.ReadFile(filepath.Join(dir, name))
	return strings.TrimSpace(string(data))
}

// report writes the table to stdout and the whole report to out.
func report(dir, out, notes string) error {
	if dir == "" || out == "" {
		return errors.New("report needs -dir and -out")
	}
	var rows []row
	var c cmpResult
	if ok, err := readJSON(dir, "cmp.json", &c); err != nil {
		return err
	} else if ok {
		rows = append(rows, row{"a. `check --json`, whole process, vs ps + tmux list-panes + cat",
			fmt.Sprintf("%.0f ms", c.AMs), fmt.Sprintf("%.0f ms", c.BMs), fmt.Sprintf("%.2f×", c.Ratio),
			fmt.Sprintf("≤ %.1f×", targetCheckRatio), verdict(c.Ratio <= targetCheckRatio)})
	}
	var sc scanResult
	if ok, err := readJSON(dir, "scan.json", &sc); err != nil {
		return err
	} else if ok {
		rows = append(rows, row{"b. steady-state engine scan vs first scan",
			fmt.Sprintf("%.0f ms", sc.SteadyMs), fmt.Sprintf("%.0f ms", sc.FirstMs), fmt.Sprintf("%.2f×", sc.Ratio),
			fmt.Sprintf("≤ %.1f×", targetScanRatio), verdict(sc.Ratio <= targetScanRatio)})
	}
	var cp cpuResult
	if ok, err := readJSON(dir, "cpu.json", &cp); err != nil {
		return err
	} else if ok && len(cp.Pct) == 2 {
		ratio := cp.Pct[0] / cp.Pct[1]
		rows = append(rows, row{fmt.Sprintf("c. TUI idle CPU at --interval 1s vs htop -d 10 (%.0f s, with reaped children)", cp.WindowS),
			fmt.Sprintf("%.1f%%", cp.Pct[0]), fmt.Sprintf("%.1f%%", cp.Pct[1]), fmt.Sprintf("%.2f×", ratio),
			fmt.Sprintf("≤ %.1f×", targetCPURatio), verdict(ratio <= targetCPURatio)})
		selfRatio := cp.SelfPct[0] / cp.SelfPct[1]
		rows = append(rows, row{"c′. the same, utime+stime of the two processes only",
			fmt.Sprintf("%.1f%%", cp.SelfPct[0]), fmt.Sprintf("%.1f%%", cp.SelfPct[1]), fmt.Sprintf("%.2f×", selfRatio),
			fmt.Sprintf("≤ %.1f×", targetCPURatio), verdict(selfRatio <= targetCPURatio)})
	} else if skip := readText(dir, "cpu.skip"); skip != "" {
		rows = append(rows, row{"c. TUI idle CPU at --interval 1s vs htop -d 10", "—", "—", skip, fmt.Sprintf("≤ %.1f×", targetCPURatio), "not measured"})
	}
	var cd codecResult
	if ok, err := readJSON(dir, "codec.json", &cd); err != nil {
		return err
	} else if ok {
		rows = append(rows, row{fmt.Sprintf("d. Parse + Encode of the %d-agent task registry (%.1f MB)", cd.Agents, float64(cd.Bytes)/1e6),
			fmt.Sprintf("%.1f ms (%.1f + %.1f)", cd.TotalMs, cd.DecodeMs, cd.EncodeMs), "—", fmt.Sprintf("%.1f ms", cd.TotalMs),
			fmt.Sprintf("≤ %.0f ms", targetCodecMs), verdict(cd.TotalMs <= targetCodecMs)})
	}
	var lk lockResult
	if ok, err := readJSON(dir, "lock.json", &lk); err != nil {
		return err
	} else if ok {
		rows = append(rows, row{"e. exclusive lock held by a repair of that registry",
			fmt.Sprintf("%.1f ms (max %.1f)", lk.HeldMs, lk.MaxHeldMs), "—", fmt.Sprintf("%.1f ms", lk.HeldMs),
			fmt.Sprintf("≤ %.0f ms", targetLockMs), verdict(lk.HeldMs <= targetLockMs)})
	}
	if c.Runs > 0 {
		rows = append(rows, row{"f. max RSS of `agentwatch check` on the scene",
			fmt.Sprintf("%.1f MB", c.AMaxRSS), "—", fmt.Sprintf("%.1f MB", c.AMaxRSS),
			fmt.Sprintf("≤ %.0f MB", targetRSSMB), verdict(c.AMaxRSS <= targetRSSMB)})
	}

	var cs cmpResult
	if ok, err := readJSON(dir, "cmp-sqlite.json", &cs); err != nil {
		return err
	} else if ok {
		rows = append(rows, row{"g. the same on the SQLite-era scene, vs ps + tmux list-panes + `sqlite3 -readonly DB 'select * from agents'`",
			fmt.Sprintf("%.0f ms", cs.AMs), fmt.Sprintf("%.0f ms", cs.BMs), fmt.Sprintf("%.2f×", cs.Ratio),
			fmt.Sprintf("≤ %.1f×", targetCheckRatio), verdict(cs.Ratio <= targetCheckRatio)})
		rows = append(rows, row{"h. max RSS of `agentwatch check` on the SQLite-era scene",
			fmt.Sprintf("%.1f MB", cs.AMaxRSS), "—", fmt.Sprintf("%.1f MB", cs.AMaxRSS),
			fmt.Sprintf("≤ %.0f MB", targetRSSMB), verdict(cs.AMaxRSS <= targetRSSMB)})
	} else if skip := readText(dir, "cmp-sqlite.skip"); skip != "" {
		rows = append(rows, row{"g, h. the SQLite-era scene", "—", "—", skip, "", "not measured"})
	}
	var bw writerResult
	if ok, err := readJSON(dir, "big-check.json", &bw); err != nil {
		return err
	} else if ok {
		rows = append(rows, row{fmt.Sprintf("i. max RSS of `agentwatch check` with a %.0f MB task registry", float64(bw.Bytes)/1e6),
			fmt.Sprintf("%.1f MB (%.0f ms)", bw.CheckMaxRSS, bw.CheckMs), "—", fmt.Sprintf("%.1f MB", bw.CheckMaxRSS),
			fmt.Sprintf("≤ %.0f MB", targetBigRSSMB), verdict(bw.CheckMaxRSS <= targetBigRSSMB)})
		rows = append(rows, row{"j. a flock'd python writer's longest wait beside that check, vs python's read of the registry under LOCK_SH",
			fmt.Sprintf("%.0f ms (p99 %.1f ms, %d locks)", bw.WaitMaxMs, bw.WaitP99Ms, bw.Locks),
			fmt.Sprintf("%.0f ms (max %.0f)", bw.ReadMs, bw.ReadMaxMs), fmt.Sprintf("%.2f× the longest read", bw.WaitMaxMs/bw.ReadMaxMs),
			"≤ the read", verdict(bw.WaitMaxMs <= bw.ReadMaxMs)})
	}
	var br map[string]any
	if ok, _ := readJSON(dir, "big-repair-summary.json", &br); ok {
		rss, _ := br["maxrss_mb"].(float64)
		// A rewrite holds the registry's bytes: its bound is check's and
		// the bytes (in MiB, as the RSS is).
		target, v := "bounded where the change allows", "see notes"
		if bw.Bytes > 0 {
			bound := targetBigRSSMB + float64(bw.Bytes)/(1<<20)
			target, v = fmt.Sprintf("≤ %.0f MB + the registry = %.0f MB", targetBigRSSMB, bound), verdict(rss <= bound)
		}
		rows = append(rows, row{"k. max RSS of `agentwatch repair --yes` of a drifted counter of that registry",
			fmt.Sprintf("%.0f MB (%v s, exit %v)", rss, br["s"], br["exit"]), "—", fmt.Sprintf("%.0f MB", rss),
			target, v})
	}

	var keys map[string]float64
	if ok, err := readJSON(dir, "keypress.json", &keys); err != nil {
		return err
	} else if ok && len(keys) > 0 {
		slowest, worst := "", 0.0
		for _, name := range slices.Sorted(maps.Keys(keys)) {
			if keys[name] > worst {
				slowest, worst = name, keys[name]
			}
		}
		rows = append(rows, row{fmt.Sprintf("l. keypress to frame (Update and View) with 10,000 agents, the slowest of %d keys (%s)", len(keys), slowest),
			fmt.Sprintf("%.1f ms", worst), "—", fmt.Sprintf("%.1f ms", worst),
			fmt.Sprintf("≤ %.0f ms", targetFrameMs), verdict(worst <= targetFrameMs)})
	}

	var table strings.Builder
	table.WriteString("| measurement | agentwatch | baseline | ratio / value | target | verdict |\n|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&table, "| %s | %s | %s | %s | %s | %s |\n", r.what, r.agentwatch, r.baseline, r.value, r.target, r.verdict)
	}
	fmt.Print(table.String())

	var b strings.Builder
	b.WriteString("# agentwatch performance, measured\n\n")
	b.WriteString("Written by `bench/run.sh`; do not edit by hand (add notes with `--notes FILE`).\n\n")
	b.WriteString("## Machine\n\n```\n" + readText(dir, "machine.txt") + "\n```\n\n")
	b.WriteString("## Scene\n\n")
	b.WriteString("`bench/scale`: a private tmux server (`-S`, `-f /dev/null`) with 200 agent sessions `agent_<id>`, " +
		"each running a fake claude (the agentwatch binary linked as `claude`) piped into `tee`, as the orchestrator starts them; " +
		"a global registry and ten task registries in the orchestrator's format — one task holds 10,000 agents on its own " +
		"(the 200 live ones, `working`, and 9,800 `completed`/`terminated`), nine hold 20 terminal agents each, and the global " +
		"registry holds all 10,180 — each entry shaped like the 2025-10 fixtures (a prompt of a few hundred characters, " +
		"`tracked_files`, `completion_validation` for completed ones); every counter right, so the scene is healthy and " +
		"no check spends its ghost settle; 1,000 extra `sleep` processes.\n\n")
	if h := readText(dir, "health.json"); h != "" {
		b.WriteString("A check of the scene before the measurements: `" + h + "`\n\n")
	}
	b.WriteString("`bench/scale -era sqlite`, the SQLite-era copy: the same 10,180 agents as rows of `registry/state.sqlite3` " +
		"(the orchestrator's 2026 schema, written by python3's sqlite3 in WAL mode; `task_config` per task, an `agent_progress_latest` " +
		"row per live agent), the task and global JSON files a 2026 task leaves (no agents, counters at 0), and the 200 panes in " +
		"the 2026 launch shape (`bash -c \"set -o pipefail; cd DIR && cat PROMPT | claude … | tee …/logs/<id>_stream.jsonl; …\"`, " +
		"no agent id in claude's argv).\n\n")
	if h := readText(dir, "health-sqlite.json"); h != "" {
		b.WriteString("A check of the SQLite-era scene: `" + h + "`\n\n")
	}
	b.WriteString("## Results\n\nMedians; each comparison alternates its two sides run by run in one run of the script.\n\n")
	b.WriteString(table.String())
	b.WriteString("\n## Method\n\n")
	b.WriteString("The agentwatch measured is built as the README installs it: `CGO_ENABLED=0 go build`, a static binary " +
		"(unless `--agentwatch BIN` names another).\n\n")
	b.WriteString("- **a, f** (`probe cmp`): each side runs as `sh -c LINE` with its output to /dev/null, alternating " +
		"(a,b then b,a), after one warm-up of each; wall time from fork to wait, max RSS from wait4's rusage. " +
		"The pipeline is `ps -ww -eo pid=,ppid=,lstart=,args=`, `tmux -S SOCK list-panes -a -F` with the nine fields " +
		"agentwatch asks for, and `cat` of every registry.\n")
	b.WriteString("- **b** (`probe scan`): `engine.Observe` on a new `engine.Engine` (empty process cache, no memory) " +
		"against `Observe` on one long-lived Engine with the previous scan's memory, as the TUI scans, alternating.\n")
	b.WriteString("- **c** (`probe cpu`): `agentwatch watch --interval 1s` and `htop -d 10` (a 1 s delay) each in a 200×50 pane " +
		"of one private tmux server, started together, 5 s to settle, then utime+stime (and cutime+cstime: the tmux " +
		"clients a scan runs) from /proc/PID/stat before and after the same window.\n")
	b.WriteString("- **d** (`probe codec`): `pyjson.Parse` then `pyjson.Encode` of the 10,000-agent registry's bytes, " +
		"with big buffers on huge pages where the kernel gives them on request, as repair runs the codec " +
		"(`hugemem.Enable`); one warm-up, then the median of the runs' sums.\n")
	b.WriteString("- **e** (`probe lock`): drift the registry's `active_count` under its lock, then `engine.Check`, " +
		"`reconcile.PlanRepair` and `engine.Repair` as `agentwatch repair --yes` runs them; `Result.Commits[].LockHeld` " +
		"of the registry's transaction (backup, journal, in-place write and their fsyncs included). " +
		"One warm-up. Then the command line once: `agentwatch repair --yes --json` after a drift.\n")
	b.WriteString("- **g, h** (`probe cmp`): as a and f, on the SQLite-era scene; the pipeline has `sqlite3 -readonly DB 'select * from agents'` " +
		"(Debian's CLI " + readText(dir, "sqlite3-version.txt") + ") in place of `cat`.\n")
	b.WriteString("- **i, j** (`probe writer`): the scale scene with one task of `--big-agents` agents (one live). First python3 reads the " +
		"registry under `LOCK_SH` N times (median and longest: what a read takes); then a python3 writer takes `LOCK_EX` every 3 ms, " +
		"as the orchestrator's careful writers do, noting each wait, while `agentwatch check --json` runs N times beside it; max RSS " +
		"from wait4. The machine's scheduling delays fall on both the read and the waits.\n")
	b.WriteString("- **k**: `probe drift`, then `agentwatch repair --yes --json` once under `/usr/bin/time -f %M`.\n")
	b.WriteString("- **l**: `go test -run '^$' -bench Keypress -benchtime 50x -count 3 ./ui/` (this tree's): `Update` of one key and the `View` " +
		"that follows on a 200×50 screen after a scan of 10,000 agents, for each key (down/up, next fault, faults only, hide finished, " +
		"typing in the filter, sorting processes); the best of three counts of each, the slowest key reported.\n\n")
	if cd.Runs > 0 {
		fmt.Fprintf(&b, "The encoded bytes are identical to the file read: %v.\n\n", cd.Identity)
	}
	var cli map[string]any
	if ok, _ := readJSON(dir, "cli-repair-summary.json", &cli); ok {
		fmt.Fprintf(&b, "`agentwatch repair --yes --json` after a drift: exit %v, %v operations applied, %v ms for the whole process.\n\n", cli["exit"], cli["applied"], cli["ms"])
	}
	b.WriteString("## Details\n\n")
	for _, name := range []string{"cmp.json", "scan.json", "codec.json", "lock.json", "cpu.json", "cmp-sqlite.json", "big-check.json", "big-repair-summary.json", "keypress.json"} {
		if t := readText(dir, name); t != "" {
			fmt.Fprintf(&b, "`%s`: `%s`\n\n", name, t)
		}
	}
	if t := readText(dir, "tui-screen.txt"); t != "" {
		b.WriteString("The TUI's first lines during the window:\n\n```\n" + t + "\n```\n\n")
	}
	if notes != "" {
		data, err := os.ReadFile(notes)
		if err != nil {
			return err
		}
		b.WriteString(strings.TrimSpace(string(data)) + "\n")
	}
	return os.WriteFile(out, []byte(b.String()), 0o644)
}
