// Package config owns every tunable of a Reef node: the table of Redis 7.0.15
// parameters (name, alias, default, type, validation range, mutability), the
// redis.conf / redis-server argv parser, and the CONFIG GET / SET / REWRITE
// semantics.
//
// What it owns:
//   - Config, an immutable snapshot of every setting. Typed fields carry what
//     the server reads; parameters Reef does not act on are still parsed,
//     validated by their Redis type, kept and reported by CONFIG GET.
//   - Load, which reads startup arguments exactly as redis-server 7.0.15 does
//     (config file, "-" for stdin, "--name value" options, include, quoting,
//     repeated directives) and fails with Redis's exact fatal text.
//   - Live, the running configuration: an atomic pointer to the current
//     snapshot (Get is a single atomic load), plus CONFIG SET (all or nothing,
//     with apply hooks and rollback), CONFIG GET pattern matching and
//     CONFIG REWRITE.
//
// What it must never do: change process state. It never calls chdir, never
// opens listeners, never logs and never reads globals; "dir" is resolved
// against a virtual working directory and the server applies it (os.Chdir)
// through Config.Dir or an OnApply hook. The only files it touches are the
// ones Redis touches while loading (config files, includes, the log file it
// test-opens in append mode) and the config file CONFIG REWRITE replaces.
//
// Invariant: a *Config returned by Load, Default, Live.Get or passed to a hook
// is never modified afterwards; every change builds a new snapshot.
//
// Where Reef knowingly differs from redis-server 7.0.15, and why:
//   - CONFIG GET and CONFIG REWRITE order: Redis emits pairs (and appended
//     rewrite lines) in hash-table order, which is random per process; Reef
//     uses pattern order, then table order.
//   - "user" directives are stored, not validated (Reef has no ACL parser),
//     so an invalid rule is not a startup error, and CONFIG REWRITE writes
//     them as given (see DefaultUserLines) instead of Redis's canonical ACL
//     description, unless the server installs a describer.
//   - "loadmodule" fails startup (Reef cannot load modules) with Redis's two
//     log lines but Reef's reason; "rename-command" is checked against the
//     command table only when LoadOptions.Commands is given.
//   - "--sentinel" / "sentinel" are accepted and ignored: there is no
//     sentinel mode.
//   - An include cycle stops after 100 levels with a fatal error; Redis
//     recurses until it crashes.
//   - The FATAL CONFIG FILE ERROR text is Redis's byte for byte, and Redis
//     prints no file name; FatalError.File adds it for the caller.
//   - Values Redis derives from the host: "dir" (the working directory) and
//     errors from apply functions (listening, file limits, TLS), which are
//     the server's OnApply hooks, not this package's.
//   - activedefrag is refused as the Debian 7.0.15 build (no jemalloc
//     defrag support) refuses it; TLS parameters exist because that build
//     has TLS, and are kept although Reef serves no TLS.
//
// It imports only the standard library, internal/splitargs and
// internal/glob.
package config
