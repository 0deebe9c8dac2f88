//go:build !linux

package main

// smallPages: other systems give anonymous memory in small pages.
func smallPages([]byte) {}
