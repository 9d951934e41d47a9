import FuzzSupport

// A closure, not `fuzz` itself: converting the @_cdecl function to a C
// pointer here would define its C symbol a second time in this file.
runLibFuzzer { data, count in fuzz(data, count) }
