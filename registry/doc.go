// Package registry reads and rewrites the orchestrator's JSON registry files
// without losing anything: a lossless document that encodes exactly as
// Python's json.dumps(obj, indent=2), typed views over the global and task
// formats, discovery of workspace bases, and a store whose every write is a
// locked, journaled, backed-up transaction on the registry file itself.
package registry
