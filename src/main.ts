// The process entry point (`npm start`, `node dist/main.js`): the server, configured from the
// environment. Node's own settings come from the environment too (NODE_OPTIONS, UV_THREADPOOL_SIZE):
// by the time an ES module's code runs, the loader has already started libuv's thread pool, so a
// value set here would be read too late.
import './server.js';
