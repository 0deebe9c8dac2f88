//go:build !linux

package hugemem

import "errors"

// OnRequest reports false: there are no transparent huge pages to ask
// for here.
func OnRequest() bool { return false }

// PageSize is one PMD with 4 KiB pages; nothing is advised here anyway.
func PageSize() uintptr { return 2 << 20 }

// Advise advises nothing.
func Advise([]byte) Range { return Range{} }

// Advised reports that nothing is.
func Advised(Range) (bool, error) {
	return false, errors.New("no transparent huge pages on this system")
}
