// WGSL sources: loading (Node from disk, browsers by fetch or from any record of texts) and
// composition. A kernel file in shaders/ is not standalone WGSL: compose() prepends a generated
// header (enable directives, `alias KV`, the compile-time constants of one pipeline variant),
// replaces each `//#include PIECE` with that shared piece (SHADER_PIECES), and keeps or drops the lines between
// `//#if FLAG` / `//#else` / `//#endif` (no nesting). Everything here is plain string work, so the
// same code runs in Node, a browser bundle and a worker.

import { SinkrtError } from '../types.js';

/** Files that are pieces included by kernels, not kernels of their own. */
export const SHADER_PIECES = ['online_softmax', 'paged_decode_io'] as const;
export type ShaderPiece = (typeof SHADER_PIECES)[number];
export const SHADER_NAMES = ['online_softmax', 'paged_decode_io', 'reshape_and_cache', 'paged_decode', 'paged_decode_sg', 'paged_decode_gqa8', 'paged_decode_mma', 'paged_decode_reduce', 'unified_attention'] as const;
export type ShaderName = (typeof SHADER_NAMES)[number];
/** The text of every file in shaders/, by name without `.wgsl`. */
export type ShaderSources = Record<ShaderName, string>;

export interface ComposeOptions {
  /** f16 cache storage (else f32). */
  f16: boolean;
  /**
   * f16 storage read as u32 pairs and converted with unpack2x16float / pack2x16float instead of
   * WGSL f16 types (no `enable f16`): an alternative load path for adapters where it is faster.
   */
  packedF16?: boolean;
  /** Flags for `//#if` blocks, e.g. SUBGROUPS. */
  flags: Record<string, boolean>;
  /** Compile-time u32 constants, e.g. { D4: 16, G: 8 }. */
  constants: Record<string, number>;
  /**
   * Keep the inner loops rolled: roll() then reads the kernel's runtime `p.zero` instead of being
   * the constant 0. Software adapters (lavapipe's LLVM) spend minutes compiling fully unrolled
   * kernels (95 s for unified_attention, measured); GPUs want them unrolled. Only kernels whose
   * Params have a `zero` field call roll().
   */
  rolled?: boolean;
}

function preprocess(text: string, flags: Record<string, boolean>, file: string): string {
  const out: string[] = [];
  let state: 'none' | 'if' | 'else' = 'none';
  let keep = true;
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t.startsWith('//#if ')) {
      if (state !== 'none') throw new SinkrtError('E_SHADER', `${file}.wgsl: nested //#if is not supported`);
      state = 'if';
      keep = flags[t.slice(6).trim()] === true;
    } else if (t === '//#else') {
      if (state !== 'if') throw new SinkrtError('E_SHADER', `${file}.wgsl: //#else without //#if`);
      state = 'else';
      keep = !keep;
    } else if (t === '//#endif') {
      if (state === 'none') throw new SinkrtError('E_SHADER', `${file}.wgsl: //#endif without //#if`);
      state = 'none';
      keep = true;
    } else if (keep) {
      out.push(line);
    }
  }
  if (state !== 'none') throw new SinkrtError('E_SHADER', `${file}.wgsl: unterminated //#if`);
  return out.join('\n');
}

/**
 * Expands `//#unroll NAME COUNT` ... `//#end` blocks (nestable). COUNT is a number or a constant
 * name. Unrolled, the body is repeated with `$NAME` replaced by 0, 1, ..: register arrays are then
 * indexed by literals only (a GPU compiler keeps them in registers instead of local memory).
 * Rolled (software adapters, whose compilers are slow on long code), it becomes a loop.
 */
export function expandUnroll(text: string, constants: Record<string, number>, rolled: boolean, file: string): string {
  const lines = text.split('\n');
  let i = 0;
  const block = (depth: number): string[] => {
    const out: string[] = [];
    while (i < lines.length) {
      const line = lines[i++];
      const t = line.trim();
      if (t.startsWith('//#unroll ')) {
        const [name, countText] = t.slice(10).trim().split(/\s+/);
        const count = /^\d+$/.test(countText) ? Number(countText) : constants[countText];
        if (!name || count === undefined) throw new SinkrtError('E_SHADER', `${file}.wgsl: bad //#unroll line: ${t}`);
        const body = block(depth + 1);
        if (rolled) {
          out.push(`for (var ${name}_i = 0u; ${name}_i < ${count}u; ${name}_i++) {`, ...body.map((b) => b.replaceAll(`$${name}`, `${name}_i`)), '}');
        } else {
          for (let k = 0; k < count; k++) out.push(...body.map((b) => b.replaceAll(`$${name}`, `${k}u`)));
        }
      } else if (t === '//#end') {
        if (depth === 0) throw new SinkrtError('E_SHADER', `${file}.wgsl: //#end without //#unroll`);
        return out;
      } else {
        out.push(line);
      }
    }
    if (depth > 0) throw new SinkrtError('E_SHADER', `${file}.wgsl: unterminated //#unroll`);
    return out;
  };
  return block(0).join('\n');
}

/** Full WGSL of one pipeline variant of `kernel`. */
export function compose(sources: ShaderSources, kernel: Exclude<ShaderName, ShaderPiece>, opts: ComposeOptions): string {
  const header: string[] = [];
  const packed = opts.f16 && opts.packedF16 === true;
  if (opts.f16 && !packed) header.push('enable f16;');
  if (opts.flags.SUBGROUPS) header.push('enable subgroups;');
  if (opts.flags.MMA) {
    // Matrix units (paged_decode_mma). Every matrix call sits in workgroup-uniform control flow with
    // uniform operands, but the analysis cannot see that through values it treats as non-uniform
    // (subgroup results, workgroupUniformLoad of a flag), so its diagnostic is silenced. Directives
    // precede every declaration.
    header.push('enable chromium_experimental_subgroup_matrix;');
    header.push('diagnostic(off, chromium_experimental.subgroup_matrix_uniformity);');
  }
  if (packed) {
    header.push('alias KV4 = vec2<u32>;');
    header.push('fn kv_unpack(x: KV4) -> vec4<f32> { return vec4<f32>(unpack2x16float(x.x), unpack2x16float(x.y)); }');
    header.push('fn kv_pack(v: vec4<f32>) -> KV4 { return KV4(pack2x16float(v.xy), pack2x16float(v.zw)); }');
  } else {
    const t = opts.f16 ? 'f16' : 'f32';
    header.push(`alias KV4 = vec4<${t}>;`);
    header.push('fn kv_unpack(x: KV4) -> vec4<f32> { return vec4<f32>(x); }');
    header.push(`fn kv_pack(v: vec4<f32>) -> KV4 { return vec4<${t}>(v); }`);
  }
  for (const [name, value] of Object.entries(opts.constants)) {
    if (!Number.isInteger(value) || value < 0) throw new SinkrtError('E_SHADER', `constant ${name} = ${value} must be a u32`);
    header.push(`const ${name}: u32 = ${value}u;`);
  }
  let body = expandUnroll(preprocess(sources[kernel], opts.flags, kernel), opts.constants, opts.rolled === true, kernel);
  for (const piece of SHADER_PIECES) body = body.replace(`//#include ${piece}`, () => preprocess(sources[piece], opts.flags, piece));
  if (body.includes('roll()')) header.push(`fn roll() -> u32 { return ${opts.rolled ? 'p.zero' : '0u'}; }`);
  return `${header.join('\n')}\n${body}`;
}

/** Checks that a record holds every shader; names what is missing. */
export function checkSources(sources: Partial<Record<string, string>>): ShaderSources {
  const missing = SHADER_NAMES.filter((n) => typeof sources[n] !== 'string' || sources[n]!.length === 0);
  if (missing.length > 0) {
    throw new SinkrtError('E_SHADER', `shader sources missing: ${missing.map((n) => `${n}.wgsl`).join(', ')}`);
  }
  return sources as ShaderSources;
}

/** Browser / worker loader: fetches `${baseUrl}/<name>.wgsl` for every shader (serve shaders/ there). */
export async function loadShadersFromUrl(baseUrl: string | URL, fetchFn: typeof fetch = fetch): Promise<ShaderSources> {
  const base = String(baseUrl).replace(/\/?$/, '/');
  const entries = await Promise.all(
    SHADER_NAMES.map(async (n) => {
      const res = await fetchFn(`${base}${n}.wgsl`);
      if (!res.ok) throw new SinkrtError('E_SHADER', `fetching ${base}${n}.wgsl failed: HTTP ${res.status}`);
      return [n, await res.text()] as const;
    }),
  );
  return checkSources(Object.fromEntries(entries));
}
