package hugemem

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"unsafe"
)

// enabledPath says when Linux backs anonymous memory with transparent
// huge pages: always, never, or [madvise] — only where a process asks.
const enabledPath = "/sys/kernel/mm/transparent_hugepage/enabled"

// OnRequest reports whether huge pages are given here only where a
// process asks for them, and this process may ask. It reads the kernel's
// mode once.
var OnRequest = sync.OnceValue(func() bool {
	m, err := os.ReadFile(enabledPath)
	return err == nil && mode(m) == "madvise" && !godebugDisablesTHP(os.Getenv("GODEBUG"))
})

// Advise asks for huge pages over b's whole huge pages, and returns them;
// the range is empty where b holds none or the kernel refused.
func Advise(b []byte) Range {
	if len(b) == 0 {
		return Range{}
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	r := Range{Lo: (start + PageSize - 1) &^ (PageSize - 1), Hi: (start + uintptr(len(b))) &^ (PageSize - 1)}
	if r.Empty() || syscall.Madvise(b[r.Lo-start:r.Hi-start], syscall.MADV_HUGEPAGE) != nil {
		return Range{}
	}
	return r
}

// mode is the bracketed word of enabledPath's contents.
func mode(b []byte) string {
	_, after, ok := bytes.Cut(b, []byte("["))
	if !ok {
		return ""
	}
	word, _, ok := bytes.Cut(after, []byte("]"))
	if !ok {
		return ""
	}
	return string(word)
}

// godebugDisablesTHP reports whether GODEBUG turns the runtime's own use
// of huge pages off.
func godebugDisablesTHP(godebug string) bool {
	on := false
	for setting := range strings.SplitSeq(godebug, ",") {
		if v, ok := strings.CutPrefix(setting, "disablethp="); ok {
			on = v == "1" // the last setting wins, as in the runtime
		}
	}
	return on
}

// Advised reports whether every mapping of this process over r carries
// the advice (VmFlags hg in /proc/self/smaps).
func Advised(r Range) (bool, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return false, err
	}
	defer f.Close()
	seen, in := 0, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) > 0 && !strings.HasSuffix(fields[0], ":") {
			// A mapping's first line: its range, then its permissions.
			var lo, hi uintptr
			if _, err := fmt.Sscanf(fields[0], "%x-%x", &lo, &hi); err != nil {
				return false, fmt.Errorf("smaps line %q: %w", line, err)
			}
			in = lo < r.Hi && r.Lo < hi
			continue
		}
		if flags, ok := strings.CutPrefix(line, "VmFlags:"); ok && in {
			if !strings.Contains(flags+" ", " hg ") {
				return false, nil
			}
			seen++
		}
	}
	if err := sc.Err(); err != nil {
		return false, err
	}
	return seen > 0, nil
}
