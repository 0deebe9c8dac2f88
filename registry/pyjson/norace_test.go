//go:build !race

package pyjson

// raceDetector: see race_test.go.
const raceDetector = false
