// Package registry reads and rewrites the orchestrator's JSON registry
// files: typed views over the global and task formats, discovery of
// workspace bases, and a store whose every write is a locked, journaled,
// backed-up transaction on the registry file itself. The documents it reads
// and writes are pyjson's, which encode exactly as Python's json module
// wrote them.
package registry
