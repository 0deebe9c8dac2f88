package main

// cpu: the CPU processes use over a window, from /proc/PID/stat.

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

type cpuResult struct {
	WindowS float64   `json:"window_s"`
	PIDs    []int     `json:"pids"`
	SelfMs  []float64 `json:"self_cpu_ms"`
	// ChildMs is the CPU of the children each process reaped in the window
	// (cutime + cstime): tmux clients a scan runs, for one.
	ChildMs []float64 `json:"children_cpu_ms"`
	// Pct is (self + children) as a percentage of one core.
	Pct     []float64 `json:"cpu_pct"`
	SelfPct []float64 `json:"self_cpu_pct"`
}

// cpu reads utime, stime, cutime and cstime of each PID before and after
// the window.
func cpu(window time.Duration, args []string) (any, error) {
	var pids []int
	for _, a := range args {
		pid, err := strconv.Atoi(a)
		if err != nil {
			return nil, fmt.Errorf("cpu: PID %q", a)
		}
		pids = append(pids, pid)
	}
	before := make([][4]int64, len(pids))
	for i, pid := range pids {
		t, err := cpuTicks(pid)
		if err != nil {
			return nil, err
		}
		before[i] = t
	}
	start := time.Now()
	time.Sleep(window)
	r := cpuResult{PIDs: pids}
	elapsed := time.Since(start)
	r.WindowS = elapsed.Seconds()
	const tick = 10.0 // ms per clock tick: sysconf(_SC_CLK_TCK) is 100 on Linux
	for i, pid := range pids {
		t, err := cpuTicks(pid)
		if err != nil {
			return nil, fmt.Errorf("PID %d ended during the window: %w", pid, err)
		}
		self := float64(t[0]+t[1]-before[i][0]-before[i][1]) * tick
		child := float64(t[2]+t[3]-before[i][2]-before[i][3]) * tick
		r.SelfMs = append(r.SelfMs, self)
		r.ChildMs = append(r.ChildMs, child)
		r.Pct = append(r.Pct, (self+child)/ms(elapsed)*100)
		r.SelfPct = append(r.SelfPct, self/ms(elapsed)*100)
	}
	return r, nil
}

// cpuTicks reads utime, stime, cutime, cstime (fields 14-17) of
// /proc/PID/stat, in clock ticks.
func cpuTicks(pid int) ([4]int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return [4]int64{}, err
	}
	// The command name (field 2) may hold spaces: fields start after its ')'.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return [4]int64{}, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 15 {
		return [4]int64{}, fmt.Errorf("/proc/%d/stat: short", pid)
	}
	var out [4]int64
	for j := range 4 {
		v, err := strconv.ParseInt(f[11+j], 10, 64)
		if err != nil {
			return out, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		out[j] = v
	}
	return out, nil
}
