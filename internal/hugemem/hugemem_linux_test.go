package hugemem

import (
	"runtime"
	"syscall"
	"testing"
	"unsafe"
)

func TestModeIsTheBracketedWord(t *testing.T) {
	for in, want := range map[string]string{
		"always [madvise] never\n": "madvise",
		"[always] madvise never\n": "always",
		"always madvise [never]":   "never",
		"always madvise never":     "",
		"[madvise":                 "",
		"":                         "",
	} {
		if got := mode([]byte(in)); got != want {
			t.Errorf("mode(%q) = %q, want %q", in, got, want)
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
		"disablethp=2":              true,
		"disablethp=yes":            false,
		"disablethp=1,disablethp=x": true,
		"disablethp=4294967296":     false,
	} {
		if got := godebugDisablesTHP(in); got != want {
			t.Errorf("godebugDisablesTHP(%q) = %v, want %v", in, got, want)
		}
	}
}

// whole is the range of b's whole huge pages.
func whole(b []byte) Range {
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	size := PageSize()
	return Range{Lo: (start + size - 1) &^ (size - 1), Hi: (start + uintptr(cap(b))) &^ (size - 1)}
}

// TestAdviseMarksTheWholeHugePages: on memory nobody has advised, the
// advice lands on the slice's whole huge pages, and Advised tells the
// two apart.
func TestAdviseMarksTheWholeHugePages(t *testing.T) {
	size := PageSize()
	m, err := syscall.Mmap(-1, 0, 4*int(size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Munmap(m) })
	b := m[size/2:] // starts inside a huge page
	if ok, err := Advised(whole(b)); err != nil || ok {
		t.Fatalf("fresh memory: advised %v, %v; want false", ok, err)
	}
	r := Advise(b)
	if r.Empty() {
		t.Skip("the kernel refused the advice")
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	if r != whole(b) || r.Lo < start || r.Hi > start+uintptr(len(b)) || r.Hi-r.Lo < 2*size {
		t.Errorf("Advise of [%#x, %#x): %#x-%#x", start, start+uintptr(len(b)), r.Lo, r.Hi)
	}
	if ok, err := Advised(r); err != nil || !ok {
		t.Errorf("after Advise: advised %v, %v; want true", ok, err)
	}
	if r := Advise(b[:size/2]); !r.Empty() {
		t.Errorf("Advise of half a huge page: %#x-%#x, want empty", r.Lo, r.Hi)
	}
}

// TestBufferAdvisesOnceEnabled: Buffer advises only once Enable was
// called, at Threshold or more, and only where the kernel gives huge
// pages on request; a big Buffer then comes advised.
func TestBufferAdvisesOnceEnabled(t *testing.T) {
	was := enabled.Load()
	t.Cleanup(func() { enabled.Store(was) })
	enabled.Store(false)
	n := 4 * int(PageSize())
	if advises(n) {
		t.Fatal("Buffer advises before Enable")
	}
	b := Buffer(n)
	if len(b) != 0 || cap(b) != n {
		t.Fatalf("Buffer(%d): len %d cap %d", n, len(b), cap(b))
	}
	Enable()
	if advises(Threshold() - 1) {
		t.Error("Buffer advises below the threshold")
	}
	if advises(n) != OnRequest() {
		t.Errorf("after Enable, Buffer(%d) advises: %v; huge pages on request here: %v", n, advises(n), OnRequest())
	}
	if !OnRequest() {
		t.Skip("huge pages are not given on request here: nothing to advise")
	}
	b = Buffer(n)
	if ok, err := Advised(whole(b)); err != nil || !ok {
		t.Errorf("Buffer after Enable: advised %v, %v; want true", ok, err)
	}
	runtime.KeepAlive(b)
}
