// The process entry point. libuv starts its thread pool (RSA signatures, argon2 hashes, file reads)
// the first time something uses it, loading modules included, and reads UV_THREADPOOL_SIZE then:
// so it is set here, before the server's modules load. Node's default of 4 threads oversubscribes
// small machines: on 2 cores, 2 threads gave about 30% more tokens/s in the benchmark. One thread
// per core, unless the operator sets it.
import { availableParallelism } from 'node:os';

process.env.UV_THREADPOOL_SIZE ??= String(availableParallelism());
await import('./server.js');
