// Block pool of one KV layer group: reference counts, one free queue, and the prefix-cache map.
//
// Free queue. It holds every block with refcount 0: never-used blocks and cached ones (refcount 0 but
// still registered under a content hash). Allocation takes the head. A freed block without a hash is
// put at the head (reused first, so cached content survives longer); a freed block with a hash at the
// tail. So the head side is evicted first: least recently used cached blocks go before more recent
// ones. Taking a cached block evicts its hash. A prefix hit on a free cached block "touches" it: it
// leaves the queue and its refcount goes to 1; on a held block only its refcount rises (shared).
//
// The queue is a ring of block ids with lazy removal, not a linked list: a block's record keeps the
// ring position of its live entry (ringPos); touching a block just clears ringPos, leaving a stale
// entry that allocation skips. Allocation then reads the ring sequentially and the records of the
// blocks it takes independently of each other (a linked list makes each pop wait for the previous
// block's record: a chain of cache misses when cached blocks are evicted in bulk). The ring has room
// for 2 * numBlocks entries; when stale entries fill it, one pass keeps the live ones in order.
// Positions are i32 counters that may wrap; ringPos stores them masked to 30 bits (-1 = not queued),
// unique among entries in the ring since its window is far shorter than 2^30.
//
// Memory (one 16-byte record per block, one 8-byte bucket per map entry):
//   block record at blocks + id * 16:  +0 ringPos i32 | +4 refcount i32 | +8 hash u64 (0 = none)
//   map bucket at map + i * 8:         +0 tag u32 (hash folded to 32 bits) | +4 block i32 (-1 = empty)
//
// Map: open addressing, linear probing, capacity a power of two >= 2 * numBlocks. Probing and
// deletion read only buckets (the tag gives an entry's home); the record's full hash is read only to
// confirm a tag match. Deletion shifts later entries back (no tombstones), so lookups stay short
// after many evictions. Small buckets: a busy pool's evictions hit the map at random, and half the
// bytes means more of it stays in cache.
//
// Memory accounting: free = blocks in the queue (cached included, they are evictable); used = blocks
// with refcount > 0; free + used = numBlocks - reserved (the sliding group reserves block 0, the null
// block, which is never in the queue and never allocated).

import { carve, ld, st } from '../state';
import { BLOCK_BYTES, BLK_RING_POS, BLK_REFCOUNT, BLK_HASH } from '../layout';

const POS_MASK: i32 = 0x3fffffff;

@unmanaged
export class Pool {
  numBlocks: i32;
  reserved: i32;
  numFree: i32;
  numCached: i32;
  rHead: i32; // ring position of the first entry (live or stale)
  rTail: i32; // one past the last entry
  ringMask: i32;
  mapMask: i32;
  blocks: usize; // block records
  map: usize; // buckets
  ring: usize; // i32 block ids
}

const POOLS = memory.data(2 * offsetof<Pool>(), 16);

@inline export function pool(g: i32): Pool {
  return changetype<Pool>(POOLS + <usize>g * offsetof<Pool>());
}

@inline function rec(p: Pool, b: i32): usize { return p.blocks + <usize>b * BLOCK_BYTES; }
@inline function ringPosOf(p: Pool, b: i32): i32 { return load<i32>(rec(p, b), BLK_RING_POS); }
@inline function setRingPos(p: Pool, b: i32, v: i32): void { store<i32>(rec(p, b), v, BLK_RING_POS); }
@inline export function refcountOf(p: Pool, b: i32): i32 { return load<i32>(rec(p, b), BLK_REFCOUNT); }
@inline function setRefcount(p: Pool, b: i32, v: i32): void { store<i32>(rec(p, b), v, BLK_REFCOUNT); }
@inline function hashOf(p: Pool, b: i32): u64 { return load<u64>(rec(p, b), BLK_HASH); }
@inline function setHash(p: Pool, b: i32, h: u64): void { store<u64>(rec(p, b), h, BLK_HASH); }
@inline function bucket(p: Pool, i: i32): usize { return p.map + (<usize>i << 3); }

/** Carves a pool's records, map and ring. */
export function poolInit(p: Pool, numBlocks: i32, reserved: i32): void {
  p.numBlocks = numBlocks;
  p.reserved = reserved;
  let cap = 16;
  while (cap < numBlocks * 2) cap <<= 1;
  p.mapMask = cap - 1;
  p.ringMask = cap - 1;
  p.blocks = carve(numBlocks * BLOCK_BYTES);
  p.map = carve(cap << 3);
  p.ring = carve(cap << 2);
}

/** Resets a carved pool: every usable block free, no hashes. */
export function poolReset(p: Pool): void {
  const n = p.numBlocks;
  memory.fill(p.blocks, 0, <usize>n * BLOCK_BYTES);
  for (let b = 0; b < n; b++) setRingPos(p, b, -1);
  memory.fill(p.map, 0xff, <usize>(p.mapMask + 1) << 3); // block -1: empty
  p.rHead = 0; p.rTail = 0; p.numFree = 0; p.numCached = 0;
  for (let b = p.reserved; b < n; b++) pushTail(p, b);
}

/** Keeps the live entries of the ring, in order, from rHead on (the ring is full of stale ones). */
function compact(p: Pool): void {
  const mask = p.ringMask;
  let w = p.rHead;
  for (let pos = p.rHead; pos != p.rTail; pos++) {
    const b = ld(p.ring, pos & mask);
    if (ringPosOf(p, b) == (pos & POS_MASK)) {
      st(p.ring, w & mask, b);
      setRingPos(p, b, w & POS_MASK);
      w++;
    }
  }
  p.rTail = w;
}

@inline function ringFull(p: Pool): bool { return p.rTail - p.rHead > p.ringMask; }

function pushTail(p: Pool, b: i32): void {
  if (ringFull(p)) compact(p);
  const pos = p.rTail++;
  st(p.ring, pos & p.ringMask, b);
  setRingPos(p, b, pos & POS_MASK);
  p.numFree++;
}

function pushHead(p: Pool, b: i32): void {
  if (ringFull(p)) compact(p);
  const pos = --p.rHead;
  st(p.ring, pos & p.ringMask, b);
  setRingPos(p, b, pos & POS_MASK);
  p.numFree++;
}

/** Takes the least recently used free block (evicting its hash); the caller checked numFree > 0. */
export function allocBlock(p: Pool): i32 {
  let b = 0;
  while (true) {
    // Never with numFree > 0 (every free block has a live entry); a guard, not a path.
    if (p.rHead == p.rTail) return -1;
    const pos = p.rHead++;
    b = ld(p.ring, pos & p.ringMask);
    if (ringPosOf(p, b) == (pos & POS_MASK)) break; // else a stale entry (the block was touched)
  }
  setRingPos(p, b, -1);
  p.numFree--;
  const h = hashOf(p, b);
  if (h != 0) { mapRemove(p, b, h); setHash(p, b, 0); p.numCached--; }
  setRefcount(p, b, 1);
  return b;
}

/** Drops one reference; at zero the block returns to the free queue (kept cached if it has a hash). */
export function releaseBlock(p: Pool, b: i32): void {
  const rc = refcountOf(p, b) - 1;
  setRefcount(p, b, rc);
  if (rc > 0) return;
  if (hashOf(p, b) != 0) { pushTail(p, b); p.numCached++; } else pushHead(p, b);
}

/** Takes one more reference to a block found in the map (a prefix hit). */
export function touchBlock(p: Pool, b: i32): void {
  const rc = refcountOf(p, b);
  if (rc == 0) { setRingPos(p, b, -1); p.numFree--; p.numCached--; }
  setRefcount(p, b, rc + 1);
}

// A bucket keeps a 32-bit tag of the hash (for the probe) and the block; the full 64-bit hash is in
// the block record and is compared only when a tag matches (a lookup that may hit).
@inline function tagOf(h: u64): u32 { return <u32>(h ^ (h >> 32)); }
@inline function homeOf(p: Pool, t: u32): i32 { return (<i32>(t ^ (t >> 16))) & p.mapMask; }
@inline function bucketTag(e: usize): u32 { return load<u32>(e); }
@inline function bucketBlock(e: usize): i32 { return load<i32>(e, 4); }

/** The block registered under hash h, or -1. */
export function lookup(p: Pool, h: u64): i32 {
  const t = tagOf(h);
  let i = homeOf(p, t);
  while (true) {
    const e = bucket(p, i);
    const b = bucketBlock(e);
    if (b < 0) return -1;
    if (bucketTag(e) == t && hashOf(p, b) == h) return b;
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
  if (hashOf(p, b) != 0) return;
  const t = tagOf(h);
  let i = homeOf(p, t);
  while (true) {
    const e = bucket(p, i);
    const o = bucketBlock(e);
    if (o < 0) break;
    if (bucketTag(e) == t && hashOf(p, o) == h) return;
    i = (i + 1) & p.mapMask;
  }
  const e = bucket(p, i);
  store<u32>(e, t);
  store<i32>(e, b, 4);
  setHash(p, b, h);
}

/** Removes block b's entry (registered under h). */
function mapRemove(p: Pool, b: i32, h: u64): void {
  const mask = p.mapMask;
  let i = homeOf(p, tagOf(h));
  while (bucketBlock(bucket(p, i)) != b) i = (i + 1) & mask;
  // Backward-shift deletion: move later entries of the probe run into the hole when their home
  // position does not lie cyclically in (hole, j].
  let j = i;
  while (true) {
    j = (j + 1) & mask;
    const ej = bucket(p, j);
    if (bucketBlock(ej) < 0) break;
    const k = homeOf(p, bucketTag(ej));
    const inRange = i <= j ? (k > i && k <= j) : (k > i || k <= j);
    if (!inRange) { store<u64>(bucket(p, i), load<u64>(ej)); i = j; }
  }
  store<i32>(bucket(p, i), -1, 4);
}
