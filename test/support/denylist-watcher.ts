// A separate process with a denylist mirror: prints "ready" once loaded, then "seen <jti>" when the
// jti it was given shows up. Used to prove revocations cross process boundaries.
import { Redis } from 'ioredis';
import { createRedisDenylist } from '../../src/denylist/redis-denylist.js';
import { createLogger } from '../../src/logger.js';

const [url, keyPrefix, jti] = process.argv.slice(2) as [string, string, string];
const redis = new Redis(url);
const mirror = await createRedisDenylist({ redis, keyPrefix, logger: createLogger('silent') }).mirror();
console.log('ready');
const deadline = Date.now() + 20_000;
const timer = setInterval(() => {
  if (mirror.has(jti)) {
    console.log(`seen ${jti}`);
  } else if (Date.now() < deadline) {
    return;
  }
  clearInterval(timer);
  void mirror.close().then(() => redis.quit());
}, 20);
