package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The targets of issue 5, item 3.
const (
	targetCheckRatio = 1.0
	targetScanRatio  = 0.5
	targetCPURatio   = 1.0
	targetCodecMs    = 50.0
	targetLockMs     = 20.0
	targetRSSMB      = 60.0
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
	b.WriteString("## Results\n\nMedians; each comparison alternates its two sides run by run in one run of the script.\n\n")
	b.WriteString(table.String())
	b.WriteString("\n## Method\n\n")
	b.WriteString("- **a, f** (`probe cmp`): each side runs as `sh -c LINE` with its output to /dev/null, alternating " +
		"(a,b then b,a), after one warm-up of each; wall time from fork to wait, max RSS from wait4's rusage. " +
		"The pipeline is `ps -ww -eo pid=,ppid=,lstart=,args=`, `tmux -S SOCK list-panes -a -F` with the nine fields " +
		"agentwatch asks for, and `cat` of every registry.\n")
	b.WriteString("- **b** (`probe scan`): `engine.Observe` on a new `engine.Engine` (empty process cache, no memory) " +
		"against `Observe` on one long-lived Engine with the previous scan's memory, as the TUI scans, alternating.\n")
	b.WriteString("- **c** (`probe cpu`): `agentwatch watch --interval 1s` and `htop -d 10` (a 1 s delay) each in a 200×50 pane " +
		"of one private tmux server, started together, 5 s to settle, then utime+stime (and cutime+cstime: the tmux " +
		"clients a scan runs) from /proc/PID/stat before and after the same window.\n")
	b.WriteString("- **d** (`probe codec`): `registry.Parse` then `registry.Encode` of the 10,000-agent registry's bytes, " +
		"one warm-up, then the median of the runs' sums.\n")
	b.WriteString("- **e** (`probe lock`): drift the registry's `active_count` under its lock, then `engine.Check`, " +
		"`reconcile.PlanRepair` and `engine.Repair` as `agentwatch repair --yes` runs them; `Result.Commits[].LockHeld` " +
		"of the registry's transaction (backup, journal, in-place write and their fsyncs included). " +
		"One warm-up. Then the command line once: `agentwatch repair --yes --json` after a drift.\n\n")
	if cd.Runs > 0 {
		fmt.Fprintf(&b, "The encoded bytes are identical to the file read: %v.\n\n", cd.Identity)
	}
	var cli map[string]any
	if ok, _ := readJSON(dir, "cli-repair-summary.json", &cli); ok {
		fmt.Fprintf(&b, "`agentwatch repair --yes --json` after a drift: exit %v, %v operations applied, %v ms for the whole process.\n\n", cli["exit"], cli["applied"], cli["ms"])
	}
	b.WriteString("## Details\n\n")
	for _, name := range []string{"cmp.json", "scan.json", "codec.json", "lock.json", "cpu.json"} {
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
