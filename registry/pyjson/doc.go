// Package pyjson is a lossless JSON document for files written by Python's
// json.dumps(obj, indent=2): Parse keeps every value's source text, Encode
// writes an unedited document back byte for byte and an edited one as
// Python would have written it, and Project reads a large document in one
// streaming pass, checking all of it as Parse does but keeping only the
// members it is asked for. It accepts exactly what Python's json module
// reads (NaN, Infinity, lone surrogates, nesting up to Python's limit) and
// refuses the rest with Python's error message.
package pyjson
