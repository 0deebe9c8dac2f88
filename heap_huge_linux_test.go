package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestTHPModeIsTheBracketedWord(t *testing.T) {
	for in, want := range map[string]string{
		"always [madvise] never\n": "madvise",
		"[always] madvise never\n": "always",
		"always madvise [never]":   "never",
		"always madvise never":     "",
		"[madvise":                 "",
		"":                         "",
	} {
		if got := thpMode([]byte(in)); got != want {
			t.Errorf("thpMode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestGodebugDisablesTHPAsTheRuntimeReadsIt(t *testing.T) {
	for in, want := range map[string]bool{
		"":                          false,
		"disablethp=1":              true,
		"gctrace=1,disablethp=1":    true,
		"disablethp=1,disablethp=0": false,
		"disablethp=0":              false,
		"xdisablethp=1":             false,
	} {
		if got := godebugDisablesTHP(in); got != want {
			t.Errorf("godebugDisablesTHP(%q) = %v, want %v", in, got, want)
		}
	}
}

// vmaFlags reads, from /proc/self/smaps, the VmFlags of every mapping
// that overlaps [lo, hi).
func vmaFlags(t *testing.T, lo, hi uintptr) []string {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var flags []string
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) > 0 && !strings.HasSuffix(fields[0], ":") {
			// A mapping's first line: its range, then its permissions.
			var start, end uintptr
			if _, err := fmt.Sscanf(fields[0], "%x-%x", &start, &end); err != nil {
				t.Fatalf("smaps line %q: %v", line, err)
			}
			in = start < hi && lo < end
			continue
		}
		if v, ok := strings.CutPrefix(line, "VmFlags:"); ok && in {
			flags = append(flags, strings.TrimSpace(v))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return flags
}

// TestAdviseHugeHeapLeavesFreedAdvisedPages: where the kernel gives huge
// pages on request, the advised range is the block's whole huge pages,
// every mapping over it carries the advice (hg), the block is collected
// and the collector's pacing is as it was.
func TestAdviseHugeHeapLeavesFreedAdvisedPages(t *testing.T) {
	mode, err := os.ReadFile(thpEnabledPath)
	if err != nil || thpMode(mode) != "madvise" || godebugDisablesTHP(os.Getenv("GODEBUG")) {
		if lo, hi := adviseHugeHeap(); lo != 0 || hi != 0 {
			t.Fatalf("mode %q: advised [%#x, %#x); want nothing", mode, lo, hi)
		}
		t.Skipf("huge pages are not given on request here (%q): nothing to advise", mode)
	}
	percent := debug.SetGCPercent(100)
	debug.SetGCPercent(percent)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	lo, hi := adviseHugeHeap()

	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if hi-lo < hugeHeapBytes-hugePage || lo%hugePage != 0 || hi%hugePage != 0 {
		t.Fatalf("advised [%#x, %#x): want %d MiB or one huge page less, on huge-page bounds", lo, hi, hugeHeapBytes>>20)
	}
	flags := vmaFlags(t, lo, hi)
	if len(flags) == 0 {
		t.Fatalf("no mapping over [%#x, %#x) in /proc/self/smaps", lo, hi)
	}
	for _, f := range flags {
		if !strings.Contains(" "+f+" ", " hg ") {
			t.Errorf("a mapping over the advised range has VmFlags %q: no hg", f)
		}
	}
	if grown := int64(after.HeapInuse) - int64(before.HeapInuse); grown > hugeHeapBytes/2 {
		t.Errorf("the heap in use grew by %d MiB: the block was not collected", grown>>20)
	}
	if p := debug.SetGCPercent(percent); p != percent {
		t.Errorf("GOGC after adviseHugeHeap: %d, want %d", p, percent)
	}
}
