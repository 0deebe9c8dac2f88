//go:build race

package pyjson

// raceDetector is set when the tests run under the race detector, whose
// sync.Pool drops a share of what is put back on purpose: a count of
// allocations that relies on a pool means nothing there.
const raceDetector = true
