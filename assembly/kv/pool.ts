// Block pool of one KV layer group: reference counts, one free queue, and the prefix-cache map.
//
// Free queue (doubly linked over block ids, O(1) push/pop/remove). It holds every block with
// refcount 0: never-used blocks and cached ones (refcount 0 but still registered under a content
// hash). Allocation pops the head. A freed block without a hash is pushed at the head (reused first,
// so cached content survives longer); a freed block with a hash is pushed at the tail. So the head
// side is evicted first: least recently used cached blocks go before more recent ones. Popping a
// cached block evicts its hash. A prefix hit on a free cached block "touches" it: it leaves the queue
// and its refcount goes to 1; on a held block only its refcount rises (shared).
//
// Prefix-cache map: open addressing, linear probing, capacity a power of two >= 2 * numBlocks; a
// bucket holds a block id (-1 empty) and the key is blockHash[id] (u64, 0 = no hash). Deletion shifts
// later entries back (no tombstones), so lookups stay short after many evictions.
//
// Memory accounting: free = blocks in the queue (cached included, they are evictable); used = blocks
// with refcount > 0; free + used = numBlocks - reserved (the sliding group reserves block 0, the null
// block, which is never in the queue and never allocated).

import { carve, ld, st, ld64, st64 } from '../state';

@unmanaged
export class Pool {
  numBlocks: i32;
  reserved: i32;
  numFree: i32;
  numCached: i32;
  head: i32;
  tail: i32;
  mapMask: i32;
  pad: i32;
  refcount: usize; // i32[numBlocks]
  prev: usize; // i32[numBlocks]
  next: usize; // i32[numBlocks]
  hash: usize; // u64[numBlocks]
  map: usize; // i32[mapMask + 1]
}

const POOLS = memory.data(2 * offsetof<Pool>(), 16);

@inline export function pool(g: i32): Pool {
  return changetype<Pool>(POOLS + <usize>g * offsetof<Pool>());
}

/** Carves a pool's arrays and puts blocks [reserved, numBlocks) in the free queue in id order. */
export function poolInit(p: Pool, numBlocks: i32, reserved: i32): void {
  p.numBlocks = numBlocks;
  p.reserved = reserved;
  let cap = 16;
  while (cap < numBlocks * 2) cap <<= 1;
  p.mapMask = cap - 1;
  p.refcount = carve(numBlocks << 2);
  p.prev = carve(numBlocks << 2);
  p.next = carve(numBlocks << 2);
  p.hash = carve(numBlocks << 3);
  p.map = carve(cap << 2);
}

/** Resets a carved pool: every usable block free, no hashes. */
export function poolReset(p: Pool): void {
  const n = p.numBlocks;
  memory.fill(p.refcount, 0, <usize>n << 2);
  memory.fill(p.hash, 0, <usize>n << 3);
  memory.fill(p.map, 0xff, <usize>(p.mapMask + 1) << 2);
  p.head = -1; p.tail = -1; p.numFree = 0; p.numCached = 0;
  for (let b = p.reserved; b < n; b++) pushTail(p, b);
}

function pushTail(p: Pool, b: i32): void {
  st(p.prev, b, p.tail);
  st(p.next, b, -1);
  if (p.tail >= 0) st(p.next, p.tail, b); else p.head = b;
  p.tail = b;
  p.numFree++;
}

function pushHead(p: Pool, b: i32): void {
  st(p.next, b, p.head);
  st(p.prev, b, -1);
  if (p.head >= 0) st(p.prev, p.head, b); else p.tail = b;
  p.head = b;
  p.numFree++;
}

function unlink(p: Pool, b: i32): void {
  const pr = ld(p.prev, b), nx = ld(p.next, b);
  if (pr >= 0) st(p.next, pr, nx); else p.head = nx;
  if (nx >= 0) st(p.prev, nx, pr); else p.tail = pr;
  p.numFree--;
}

/** Takes the least recently used free block (evicting its hash); the caller checked numFree > 0. */
export function allocBlock(p: Pool): i32 {
  const b = p.head;
  unlink(p, b);
  if (ld64(p.hash, b) != 0) { mapRemove(p, b); st64(p.hash, b, 0); p.numCached--; }
  st(p.refcount, b, 1);
  return b;
}

/** Drops one reference; at zero the block returns to the free queue (kept cached if it has a hash). */
export function releaseBlock(p: Pool, b: i32): void {
  const rc = ld(p.refcount, b) - 1;
  st(p.refcount, b, rc);
  if (rc > 0) return;
  if (ld64(p.hash, b) != 0) { pushTail(p, b); p.numCached++; } else pushHead(p, b);
}

/** Takes one more reference to a block found in the map (a prefix hit). */
export function touchBlock(p: Pool, b: i32): void {
  const rc = ld(p.refcount, b);
  if (rc == 0) { unlink(p, b); p.numCached--; }
  st(p.refcount, b, rc + 1);
}

@inline function home(p: Pool, h: u64): i32 {
  return (<i32>(h ^ (h >> 29))) & p.mapMask;
}

/** The block registered under hash h, or -1. */
export function lookup(p: Pool, h: u64): i32 {
  let i = home(p, h);
  while (true) {
    const b = ld(p.map, i);
    if (b < 0) return -1;
    if (ld64(p.hash, b) == h) return b;
    i = (i + 1) & p.mapMask;
  }
  return -1;
}

/**
 * Registers a held block (its content is now complete) under h. A block that already has a hash keeps
 * it (it came from a hit); if another block holds h, this one stays unregistered (a duplicate
 * computed in the same step) and is simply freed later.
 */
export function registerBlock(p: Pool, b: i32, h: u64): void {
  if (ld64(p.hash, b) != 0) return;
  let i = home(p, h);
  while (true) {
    const o = ld(p.map, i);
    if (o < 0) break;
    if (ld64(p.hash, o) == h) return;
    i = (i + 1) & p.mapMask;
  }
  st(p.map, i, b);
  st64(p.hash, b, h);
}

function mapRemove(p: Pool, b: i32): void {
  const mask = p.mapMask;
  let i = home(p, ld64(p.hash, b));
  while (ld(p.map, i) != b) i = (i + 1) & mask;
  // Backward-shift deletion: move later entries of the probe run into the hole when their home
  // position does not lie cyclically in (hole, j].
  let j = i;
  while (true) {
    j = (j + 1) & mask;
    const o = ld(p.map, j);
    if (o < 0) break;
    const k = home(p, ld64(p.hash, o));
    const inRange = i <= j ? (k > i && k <= j) : (k > i || k <= j);
    if (!inRange) { st(p.map, i, o); i = j; }
  }
  st(p.map, i, -1);
}
