import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachedClientDirectory, CLIENT_CHANGES_CHANNEL } from '../src/clients/client-directory.js';
import { createClient } from '../src/clients/client-registry.js';
import { deleteClient, rotateClientSecret } from '../src/clients/client-store.js';
import { openInMemoryDatabase, type DatabaseHandle } from '../src/db/database.js';

let database: DatabaseHandle;
beforeAll(async () => {
  database = await openInMemoryDatabase();
});
afterAll(async () => {
  await database?.close();
});

const newClient = (name: string) =>
  createClient(database.db, { name, grantTypes: ['client_credentials'], scopes: ['a'], audiences: ['https://api'] });

describe('cachedClientDirectory', () => {
  it('serves a copy until told of a change, then reads the database again', async () => {
    const client = await newClient('cached');
    const directory = cachedClientDirectory(database.db, { ttlMs: 60_000, maxEntries: 10 });
    const first = await directory.find(client.id);
    await rotateClientSecret(database.db, client.id, 0);
    expect((await directory.find(client.id))?.secretHash).toBe(first?.secretHash); // the copy
    directory.forget(client.id);
    expect((await directory.find(client.id))?.secretHash).not.toBe(first?.secretHash);
    await deleteClient(database.db, client.id);
    directory.forget();
    expect(await directory.find(client.id)).toBeUndefined();
  });

  it('drops a copy after its time, and never caches an unknown id', async () => {
    let clock = 0;
    const directory = cachedClientDirectory(database.db, { ttlMs: 1000, maxEntries: 10, now: () => clock });
    expect(await directory.find('not-yet')).toBeUndefined();
    const client = await newClient('late');
    expect((await directory.find(client.id))?.name).toBe('late');
    await deleteClient(database.db, client.id);
    clock = 999;
    expect(await directory.find(client.id)).toBeDefined();
    clock = 1000;
    expect(await directory.find(client.id)).toBeUndefined();
  });

  it('does not keep a lookup that was in flight when a change arrived', async () => {
    const client = await newClient('racing');
    const directory = cachedClientDirectory(database.db, { ttlMs: 60_000, maxEntries: 10 });
    const inFlight = directory.find(client.id);
    directory.forget(client.id);
    await inFlight;
    await deleteClient(database.db, client.id);
    expect(await directory.find(client.id)).toBeUndefined();
  });

  it('keeps at most maxEntries copies', async () => {
    const ids = await Promise.all(['m1', 'm2', 'm3'].map(async (name) => (await newClient(name)).id));
    const directory = cachedClientDirectory(database.db, { ttlMs: 60_000, maxEntries: 2 });
    for (const id of ids) await directory.find(id);
    await deleteClient(database.db, ids[0]!);
    expect(await directory.find(ids[0]!)).toBeUndefined(); // evicted, so read again
  });

  it('hears every change to the clients table from the database (migration 0005)', async () => {
    const heard: string[] = [];
    const stop = await database.listen(
      CLIENT_CHANGES_CHANNEL,
      (id) => heard.push(id),
      () => {},
    );
    const client = await newClient('announced');
    await rotateClientSecret(database.db, client.id, 0);
    await deleteClient(database.db, client.id);
    await stop();
    expect(heard).toEqual([client.id, client.id, client.id]);
  });
});
