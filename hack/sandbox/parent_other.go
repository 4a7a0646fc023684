//go:build !linux

package main

// stopWithParent: no parent-death signal outside Linux; Ctrl-C and SIGTERM still stop it.
func stopWithParent() {}
