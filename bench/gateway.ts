// npm run bench:gateway — what the gateway costs, measured side by side in one run.
//
// 1. Streaming: added TTFT (p50, p99) and added inter-token latency of the gateway in front of one
//    simulated engine (`inferstack twin --timing instant`) against the same twin called directly,
//    closed loop at 1, 100 and 1,000 concurrent streams, direct and gateway runs interleaved. With
//    an instant engine a closed loop runs at full speed, so at 100+ streams the numbers include
//    queueing wherever the bottleneck is (see docs/gateway.md); a second twin with model timing
//    at 100 streams measures the gateway when it is not the bottleneck. Each row also runs the bare
//    node:http + undici relay in front of the same twin: the latency floor of the runtime.
// 2. Throughput of small non-streaming requests through the gateway, through nginx (Debian
//    package, one worker, keep-alive upstream) and through Portkey's open-source gateway, all in
//    front of the same canned upstream (a second nginx), reported as ratios, both in requests per
//    second and in requests per CPU-second of the proxy process (robust to a busy machine). A bare
//    node:http + undici relay shows the floor of the runtime itself.
// Every proxy under test is pinned to CPU 0 (one core); load generator and upstreams to CPU 1.
// Everything binds to 127.0.0.1. Options: --seconds N per measurement (default 3), --rounds N (2),
// --skip-streaming, --skip-throughput, --streams 100,1000 (only these instant-timing rows) with
// --think-ms N (each client pauses 0 to N ms between streams),
// --compare-gateway DIR (another checkout of this repository, e.g. `git archive <commit> | tar -x -C
// DIR` with node_modules linked: its gateway joins the streaming and throughput rows, so a change is
// measured against the code before it in the same run), --compare-node-flags "..." (Node/V8 flags
// for that gateway: `--compare-gateway . --compare-node-flags=--single-threaded-gc` compares flags).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Pool, type Dispatcher } from 'undici';
import { summarize } from '../src/bench/stats.ts';
import { benchArgs } from './args.ts';

const { values: args } = benchArgs({ seconds: { type: 'string' }, rounds: { type: 'string' }, 'skip-throughput': { type: 'boolean' }, 'skip-streaming': { type: 'boolean' }, 'compare-gateway': { type: 'string' }, streams: { type: 'string' }, 'think-ms': { type: 'string' }, 'compare-node-flags': { type: 'string' } });
const SECONDS = Number(args.seconds ?? 3);
const ROUNDS = Number(args.rounds ?? 2);
const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'bin/inferstack.js');
const tmp = mkdtempSync(join(tmpdir(), 'inferstack-bench-gateway-'));
const children: ChildProcess[] = [];
const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
// The load generator (this process, all its threads) shares CPU 1 with the upstreams: left
// unpinned, the kernel also runs it on CPU 0, where it delays the proxy under test.
if (hasTaskset) spawnSync('taskset', ['-a', '-cp', '1', String(process.pid)]);

function cleanup(): void {
  // SIGTERM: nginx's master then stops its worker too (SIGKILL would orphan it).
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  rmSync(tmp, { recursive: true, force: true });
}
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Starts a process on one CPU (when taskset exists); it is killed when the bench exits. */
function launch(cpu: number, cmd: string, argv: string[]): ChildProcess {
  const [file, list] = hasTaskset ? ['taskset', ['-c', String(cpu), cmd, ...argv]] : [cmd, argv];
  const child = spawn(file, list, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return child;
}

/** launch() and wait for its output to match `ready`. */
function start(cpu: number, cmd: string, argv: string[], ready: RegExp, timeoutMs = 30_000): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  const child = launch(cpu, cmd, argv);
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${cmd} not ready in ${timeoutMs} ms: ${out.slice(-500)}`)), timeoutMs);
    const onData = (c: Buffer) => {
      out += c.toString();
      const m = out.match(ready);
      if (m) {
        clearTimeout(timer);
        resolve({ child, match: m });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${cmd} exited (${code}): ${out.slice(-500)}`)));
  });
}

async function waitHttp(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`${url} never answered`);
}

// ---------- streaming latency ----------

/** CPU seconds (user + system) a process and its descendants have used, from /proc (Linux). */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    let total = (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    for (const kid of kids ? kids.split(' ') : []) total += cpuSeconds(Number(kid));
    return total;
  } catch {
    return Number.NaN;
  }
}

/**
 * Seconds a process's main thread (and its children's: nginx's worker) spent runnable but waiting
 * for a CPU, from /proc/PID/schedstat (Linux): how much the machine's other load delayed it.
 */
function runqueueWaitSeconds(pid: number): number {
  try {
    let total = Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e9;
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    for (const kid of kids ? kids.split(' ') : []) total += runqueueWaitSeconds(Number(kid));
    return total;
  } catch {
    return Number.NaN;
  }
}

interface StreamSamples {
  ttft: number[];
  itl: number[]; // per-stream mean gap between SSE events, ms
  errors: number;
  streams: number;
  events: number;
  /** CPU seconds the relay process (when given) used during the run. */
  cpuSeconds: number;
  /** Milliseconds per second of run that the relay (when given) waited for a CPU. */
  relayWaitMsPerS: number;
}

const MAX_TOKENS = 16;
const streamBody = JSON.stringify({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'Say something about routers.' }], max_tokens: MAX_TOKENS, stream: true, ignore_eos: true });

/** One streamed request with undici's handler API; resolves with per-event arrival times. */
function oneStream(pool: Pool): Promise<number[] | null> {
  return new Promise((resolve) => {
    const times: number[] = [];
    let status = 0;
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart: () => {},
      onResponseStart: (_c, code) => void (status = code),
      onResponseData: (_c, chunk) => {
        const now = performance.now();
        let i = -1;
        while ((i = chunk.indexOf('data: ', i + 1)) !== -1) times.push(now);
      },
      onResponseEnd: () => resolve(status === 200 ? times : null),
      onResponseError: () => resolve(null),
    };
    pool.dispatch({ path: '/v1/chat/completions', method: 'POST', headers: { 'content-type': 'application/json' }, body: streamBody }, handler);
  });
}

/**
 * `concurrency` clients in a closed loop. With `thinkMs`, each client waits a random 0 to thinkMs
 * ms before its next stream: a client that starts its next request the instant the last one ends
 * is phase-locked to the engine's steps, and then any added delay on the way in can miss a step and
 * cost a whole step of TTFT (see docs/gateway.md); real arrivals are not locked to the steps.
 */
async function streamLoad(url: string, concurrency: number, seconds: number, relayPid?: number, thinkMs = 0): Promise<StreamSamples> {
  const pool = new Pool(url, { connections: concurrency, pipelining: 1 });
  const s: StreamSamples = { ttft: [], itl: [], errors: 0, streams: 0, events: 0, cpuSeconds: Number.NaN, relayWaitMsPerS: Number.NaN };
  const cpu0 = relayPid ? cpuSeconds(relayPid) : Number.NaN;
  const wait0 = relayPid ? runqueueWaitSeconds(relayPid) : Number.NaN;
  const startedAt = performance.now();
  const end = performance.now() + seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      const times = await oneStream(pool);
      s.streams++;
      s.events += times?.length ?? 0;
      if (!times || times.length < 3) {
        s.errors++;
      } else {
        s.ttft.push(times[0]! - t0);
        // Events: role chunk, MAX_TOKENS-1 more content chunks, finish, [DONE]: mean gap over the content.
        s.itl.push((times.at(-1)! - times[0]!) / (times.length - 1));
      }
      if (thinkMs > 0) await new Promise((r) => setTimeout(r, Math.random() * thinkMs));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  s.cpuSeconds = relayPid ? cpuSeconds(relayPid) - cpu0 : Number.NaN;
  s.relayWaitMsPerS = relayPid ? ((runqueueWaitSeconds(relayPid) - wait0) * 1e6) / (performance.now() - startedAt) : Number.NaN;
  await pool.close();
  return s;
}

/** A Prometheus histogram's running sum and count (all label sets added), read from `url`/metrics. */
async function histogramTotals(url: string, name: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const t = { sum: 0, count: 0 };
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}_sum`)) t.sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    else if (line.startsWith(`${name}_count`)) t.count += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return t;
}

/** A gauge's value (all label sets added) in `text`, Prometheus exposition format. */
function gaugeValue(text: string, name: string): number {
  let v = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) v += Number(line.slice(line.lastIndexOf(' ') + 1));
  return v;
}

/** Runs `run` while sampling the twin's running-requests gauge every 100 ms; returns the mean. */
async function withEngineConcurrency<T>(twinUrl: string, run: () => Promise<T>): Promise<[T, number]> {
  const samples: number[] = [];
  let stop = false;
  const sampler = (async () => {
    while (!stop) {
      samples.push(gaugeValue(await (await fetch(`${twinUrl}/metrics`)).text(), 'vllm:num_requests_running'));
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const r = await run();
  stop = true;
  await sampler;
  return [r, samples.reduce((a, x) => a + x, 0) / samples.length];
}

/** Runs `run` and returns it with the mean (ms) of the histogram's observations made meanwhile. */
async function withMean<T>(url: string, name: string, run: () => Promise<T>): Promise<[T, number]> {
  const a = await histogramTotals(url, name);
  const r = await run();
  const b = await histogramTotals(url, name);
  return [r, ((b.sum - a.sum) / (b.count - a.count)) * 1000];
}

const TWIN_TTFT = 'vllm:time_to_first_token_seconds';
const GATEWAY_TTFT = 'inferstack_gateway_time_to_first_token_seconds';

/** Relay CPU per SSE event relayed, microseconds. */
const usPerEvent = (runs: StreamSamples[]) => (runs.reduce((a, r) => a + r.cpuSeconds, 0) / runs.reduce((a, r) => a + r.events, 0)) * 1e6;

// ---------- throughput ----------

const smallBody = JSON.stringify({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 });

async function throughput(url: string, path: string, headers: Record<string, string>, connections: number, seconds: number, pid?: number): Promise<{ rps: number; errors: number; cpuSecondsPerKiloRequest: number }> {
  const cpu0 = pid ? cpuSeconds(pid) : Number.NaN;
  const pool = new Pool(url, { connections, pipelining: 1 });
  let ok = 0;
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  const worker = async () => {
    while (performance.now() < end) {
      try {
        const r = await pool.request({ path, method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: smallBody });
        await r.body.dump();
        if (r.statusCode === 200) ok++;
        else errors++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = pid ? cpuSeconds(pid) - cpu0 : Number.NaN;
  await pool.close();
  return { rps: ok / elapsed, errors, cpuSecondsPerKiloRequest: (cpu / ok) * 1000 };
}

const CANNED = JSON.stringify({ id: 'chatcmpl-canned', object: 'chat.completion', created: 1700000000, model: 'llama-3.1-8b', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } });

function nginxConf(name: string, body: string): string {
  const dir = join(tmp, name);
  spawnSync('mkdir', ['-p', dir]);
  const file = join(dir, 'nginx.conf');
  writeFileSync(
    file,
    `worker_processes 1;\ndaemon off;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log warn;\nevents { worker_connections 4096; }\n` +
      `http {\n access_log off;\n client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;\n keepalive_requests 1000000;\n${body}\n}\n`,
  );
  return file;
}

const nginxBinary = () => (spawnSync('nginx', ['-v']).status === 0 ? 'nginx' : '/usr/sbin/nginx');

const fmt = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const median = (xs: number[]) => summarize(xs).p50;

/**
 * The floor of this runtime: node:http in, undici out, nothing else (no routing, metrics, checks,
 * failover), pinned to CPU 0 like the proxies. Relays JSON and SSE alike.
 */
async function startFloor(upstreamUrl: string): Promise<{ port: number; pid: number }> {
  const port = await freePort();
  const code =
    `import{createServer}from'node:http';import{Pool}from'undici';const up=new Pool('${upstreamUrl}',{connections:4096});` +
    `createServer((req,res)=>{const c=[];req.on('data',d=>c.push(d));req.on('end',()=>{const body=Buffer.concat(c);JSON.parse(body);` +
    `up.dispatch({path:req.url,method:'POST',headers:{'content-type':'application/json'},body},{onRequestStart(){},` +
    `onResponseStart(_c,s,h){const o={'content-type':h['content-type']};if(h['content-length'])o['content-length']=h['content-length'];res.writeHead(s,o)},` +
    `onResponseData(_c,d){res.write(d)},onResponseEnd(){res.end()},onResponseError(){res.statusCode=502;res.end()}})})})` +
    `.listen(${port},'127.0.0.1',()=>console.log('floor ready'))`;
  const floor = await start(0, process.execPath, ['--input-type=module', '-e', code], /floor ready/);
  return { port, pid: floor.child.pid! };
}

/**
 * The reference proxy for streaming: nginx (one worker, pinned to CPU 0 like the gateway) with
 * `proxy_buffering off` (each SSE chunk goes out as it arrives) and keep-alive to the twin.
 */
async function startStreamingNginx(twinUrl: string): Promise<{ url: string; pid: number; child: ChildProcess }> {
  const port = await freePort();
  const name = `stream-proxy-${port}`;
  const conf = nginxConf(
    name,
    ` upstream twin { server ${new URL(twinUrl).host}; keepalive 1024; }\n server {\n  listen 127.0.0.1:${port};\n` +
      `  location / { proxy_pass http://twin; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off; proxy_read_timeout 60s; }\n }`,
  );
  const child = launch(0, nginxBinary(), ['-c', conf, '-e', join(tmp, name, 'error.log')]);
  await waitHttp(`http://127.0.0.1:${port}/health`);
  return { url: `http://127.0.0.1:${port}`, pid: child.pid!, child };
}

/** One twin with `timing`, a gateway in front of it; direct and gateway runs interleaved per concurrency. */
/** The gateway of --compare-gateway DIR, run with --compare-node-flags when given. */
function startCompared(config: string): ReturnType<typeof start> {
  const flags = args['compare-node-flags']?.split(' ').filter(Boolean) ?? [];
  return start(0, process.execPath, [...flags, join(args['compare-gateway']!, 'bin/inferstack.js'), 'serve', '--config', config, '--port', '0'], /listening on (http:\/\/\S+)/);
}

/** Concurrent streams, and the random pause (0 to thinkMs) of each client between its streams. */
interface StreamingLoad {
  streams: number;
  thinkMs: number;
}

async function streamingRows(timing: 'instant' | 'model', loads: StreamingLoad[]): Promise<Record<string, unknown>[]> {
  const node = process.execPath;
  const twin = await start(1, node, [cli, 'twin', '--model', 'llama-3.1-8b', '--gpu', 'h100', '--timing', timing, '--port', '0'], /listening on (http:\/\/\S+)/);
  const twinUrl = twin.match[1]!;
  const gwConfig = join(tmp, `gateway-twin-${timing}.yaml`);
  writeFileSync(gwConfig, `logLevel: warn\nlimits: {queueSize: 4096}\npools:\n  - name: twin\n    models: [llama-3.1-8b]\n    policy: round-robin\n    saturation: null\n    endpoints: [{url: "${twinUrl}", engine: twin, maxConcurrency: 4096}]\n`);
  const gw = await start(0, node, [cli, 'serve', '--config', gwConfig, '--port', '0'], /listening on (http:\/\/\S+)/);
  const gwUrl = gw.match[1]!;
  const floorRelay = await startFloor(twinUrl);
  const floorUrl = `http://127.0.0.1:${floorRelay.port}`;
  const ngx = await startStreamingNginx(twinUrl);
  const compared = args['compare-gateway']
    ? await startCompared(gwConfig)
    : undefined;
  const rows: Record<string, unknown>[] = [];
  for (const { streams: c, thinkMs } of loads) {
    const others = [...(compared ? [compared.match[1]!] : []), ngx.url, floorUrl];
    for (const url of [twinUrl, gwUrl, ...others]) await streamLoad(url, c, 1, undefined, thinkMs); // warm-up: connections, JIT
    const direct: StreamSamples[] = [];
    const via: StreamSamples[] = [];
    const bare: StreamSamples[] = [];
    const nginx: StreamSamples[] = [];
    const before: StreamSamples[] = [];
    // Where the time goes: the twin's own TTFT (its core's arrival to first token) per route, and
    // the gateway's (request received to first chunk sent), as means over each run.
    const engineMs: Record<string, number[]> = {};
    const engineRunning: Record<string, number[]> = {};
    const twinWait: Record<string, number[]> = {};
    const gatewaySeenMs: number[] = [];
    const run = async (name: string, url: string, pid?: number): Promise<StreamSamples> => {
      const w0 = runqueueWaitSeconds(twin.child.pid!);
      const t0 = performance.now();
      const [[s, running], ms] = await withMean(twinUrl, TWIN_TTFT, () => withEngineConcurrency(twinUrl, () => streamLoad(url, c, SECONDS, pid, thinkMs)));
      (twinWait[name] ??= []).push(((runqueueWaitSeconds(twin.child.pid!) - w0) * 1e6) / (performance.now() - t0));
      (engineMs[name] ??= []).push(ms);
      (engineRunning[name] ??= []).push(running);
      return s;
    };
    for (let r = 0; r < ROUNDS; r++) {
      direct.push(await run('direct', twinUrl));
      const [g, seen] = await withMean(gwUrl, GATEWAY_TTFT, () => run('gateway', gwUrl, gw.child.pid));
      via.push(g);
      gatewaySeenMs.push(seen);
      if (compared) before.push(await run('compared', compared.match[1]!, compared.child.pid));
      nginx.push(await run('nginx', ngx.url, ngx.pid));
      bare.push(await run('floor', floorUrl, floorRelay.pid));
    }
    const meanOf = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
    const clientMean = (runs: StreamSamples[]) => summarize(runs.flatMap((s) => s.ttft)).mean;
    const ttftMeansMs = {
      client: { direct: clientMean(direct), gateway: clientMean(via), nginx: clientMean(nginx), floor: clientMean(bare) },
      engine: Object.fromEntries(Object.entries(engineMs).map(([k, v]) => [k, meanOf(v)])),
      gatewaySeen: meanOf(gatewaySeenMs),
    };
    const engineRunningMean = Object.fromEntries(Object.entries(engineRunning).map(([k, v]) => [k, meanOf(v)]));
    // Milliseconds per second each process waited for a CPU (other load on the machine).
    const waitMsPerS = {
      twin: Object.fromEntries(Object.entries(twinWait).map(([k, v]) => [k, meanOf(v)])),
      relay: { gateway: meanOf(via.map((r) => r.relayWaitMsPerS)), nginx: meanOf(nginx.map((r) => r.relayWaitMsPerS)), floor: meanOf(bare.map((r) => r.relayWaitMsPerS)), ...(compared ? { compared: meanOf(before.map((r) => r.relayWaitMsPerS)) } : {}) },
    };
    const d = { ttft: summarize(direct.flatMap((s) => s.ttft)), itl: summarize(direct.flatMap((s) => s.itl)) };
    const g = { ttft: summarize(via.flatMap((s) => s.ttft)), itl: summarize(via.flatMap((s) => s.itl)) };
    const f = summarize(bare.flatMap((s) => s.ttft));
    const n = summarize(nginx.flatMap((s) => s.ttft));
    const b = compared ? summarize(before.flatMap((s) => s.ttft)) : undefined;
    const row = {
      timing,
      concurrency: c,
      thinkMs,
      streams: { direct: direct.reduce((a, s) => a + s.streams, 0), gateway: via.reduce((a, s) => a + s.streams, 0) },
      errors: { direct: direct.reduce((a, s) => a + s.errors, 0), gateway: via.reduce((a, s) => a + s.errors, 0) },
      ttftMs: { direct: { p50: d.ttft.p50, p99: d.ttft.p99 }, gateway: { p50: g.ttft.p50, p99: g.ttft.p99 } },
      addedTtftMs: { p50: g.ttft.p50 - d.ttft.p50, p99: g.ttft.p99 - d.ttft.p99 },
      floorAddedTtftMs: { p50: f.p50 - d.ttft.p50, p99: f.p99 - d.ttft.p99, streams: bare.reduce((a, s) => a + s.streams, 0) },
      nginxAddedTtftMs: { p50: n.p50 - d.ttft.p50, p99: n.p99 - d.ttft.p99, streams: nginx.reduce((a, s) => a + s.streams, 0), errors: nginx.reduce((a, s) => a + s.errors, 0) },
      ...(b ? { comparedAddedTtftMs: { p50: b.p50 - d.ttft.p50, p99: b.p99 - d.ttft.p99, streams: before.reduce((a, s) => a + s.streams, 0) } } : {}),
      ttftMeansMs,
      engineRunningMean,
      waitMsPerS,
      relayCpuUsPerEvent: { gateway: usPerEvent(via), floor: usPerEvent(bare), nginx: usPerEvent(nginx), ...(compared ? { compared: usPerEvent(before) } : {}) },
      itlMs: { direct: { mean: d.itl.mean, p50: d.itl.p50 }, gateway: { mean: g.itl.mean, p50: g.itl.p50 } },
      addedItlMs: { mean: g.itl.mean - d.itl.mean, p50: g.itl.p50 - d.itl.p50 },
    };
    rows.push(row);
    console.log(
      `streams ${timing} c=${c}${thinkMs ? ` think 0-${thinkMs} ms` : ''}: TTFT p50 direct ${fmt(d.ttft.p50)} ms, gateway ${fmt(g.ttft.p50)} ms, added ${fmt(row.addedTtftMs.p50, 3)} ms | ` +
        `p99 direct ${fmt(d.ttft.p99)} gateway ${fmt(g.ttft.p99)} added ${fmt(row.addedTtftMs.p99, 3)} ms | ` +
        `ITL mean direct ${fmt(d.itl.mean, 3)} gateway ${fmt(g.itl.mean, 3)} added ${fmt(row.addedItlMs.mean, 3)} ms | ` +
        `streams ${row.streams.direct}/${row.streams.gateway}, errors ${row.errors.direct}/${row.errors.gateway} | ` +
        `bare node:http+undici relay: added TTFT p50 ${fmt(row.floorAddedTtftMs.p50, 3)} p99 ${fmt(row.floorAddedTtftMs.p99, 3)} ms, streams ${row.floorAddedTtftMs.streams} | ` +
        `nginx: added TTFT p50 ${fmt(row.nginxAddedTtftMs.p50, 3)} p99 ${fmt(row.nginxAddedTtftMs.p99, 3)} ms, streams ${row.nginxAddedTtftMs.streams}, errors ${row.nginxAddedTtftMs.errors} | ` +
        (b ? `compared gateway: added TTFT p50 ${fmt(b.p50 - d.ttft.p50, 3)} p99 ${fmt(b.p99 - d.ttft.p99, 3)} ms, ${fmt(row.relayCpuUsPerEvent.compared!, 1)} us/event | ` : '') +
        `relay CPU per SSE event: gateway ${fmt(row.relayCpuUsPerEvent.gateway, 1)} us, floor ${fmt(row.relayCpuUsPerEvent.floor, 1)} us, nginx ${fmt(row.relayCpuUsPerEvent.nginx, 1)} us`,
    );
    const t = ttftMeansMs;
    console.log(
      `  TTFT means (ms), client / engine-side: direct ${fmt(t.client.direct)} / ${fmt(t.engine.direct!)}, gateway ${fmt(t.client.gateway)} / ${fmt(t.engine.gateway!)} ` +
        `(gateway-side ${fmt(t.gatewaySeen)}), nginx ${fmt(t.client.nginx)} / ${fmt(t.engine.nginx!)}, floor ${fmt(t.client.floor)} / ${fmt(t.engine.floor!)} | ` +
        `requests running in the twin (mean): ${Object.entries(engineRunningMean).map(([k, v]) => `${k} ${fmt(v, 1)}`).join(', ')} | ` +
        `waiting for a CPU, ms per s: twin ${Object.entries(waitMsPerS.twin).map(([k, v]) => `${k} ${fmt(v, 0)}`).join(', ')}; ` +
        `relay: gateway ${fmt(waitMsPerS.relay.gateway, 0)}, nginx ${fmt(waitMsPerS.relay.nginx, 0)}, floor ${fmt(waitMsPerS.relay.floor, 0)}${compared ? `, compared ${fmt(waitMsPerS.relay.compared!, 0)}` : ''}`,
    );
  }
  compared?.child.kill('SIGTERM');
  ngx.child.kill('SIGTERM');
  gw.child.kill('SIGTERM');
  twin.child.kill('SIGTERM');
  return rows;
}

async function main(): Promise<void> {
  const node = process.execPath;
  console.log(`bench:gateway  ${new Date().toISOString()}  node ${process.version}  ${hasTaskset ? 'proxies pinned to CPU 0, load and upstreams to CPU 1' : 'no taskset: processes not pinned'}`);
  console.log(`measurement ${SECONDS} s, ${ROUNDS} rounds interleaved\n`);

  // ---- streaming: twin direct vs gateway -> twin
  // Instant timing (the issue's set-up) at 1, 100 and 1,000 streams: a closed loop at full speed.
  // Model timing (realistic H100 step times) at 100 streams: long streams the gateway is not
  // saturated by, so the added latency is per-request work rather than queueing.
  const streaming = args['skip-streaming']
    ? []
    : args.streams
      ? await streamingRows('instant', args.streams.split(',').map((x) => ({ streams: Number(x), thinkMs: Number(args['think-ms'] ?? 0) })))
      : [
          ...(await streamingRows('instant', [{ streams: 1, thinkMs: 0 }, { streams: 100, thinkMs: 0 }, { streams: 100, thinkMs: 5 }, { streams: 1000, thinkMs: 0 }])),
          ...(await streamingRows('model', [{ streams: 100, thinkMs: 0 }, { streams: 100, thinkMs: 10 }])),
        ];

  if (args['skip-throughput']) return printJson({ streaming });

  // ---- throughput: canned upstream (nginx) behind nginx, Portkey and the gateway
  const nginx = nginxBinary();
  const upPort = await freePort();
  const upConf = nginxConf('upstream', ` server {\n  listen 127.0.0.1:${upPort};\n  location / { default_type application/json; return 200 '${CANNED}'; }\n }`);
  launch(1, nginx, ['-c', upConf, '-e', join(tmp, 'upstream', 'error.log')]);
  await waitHttp(`http://127.0.0.1:${upPort}/health`);
  const upUrl = `http://127.0.0.1:${upPort}`;

  const proxyPort = await freePort();
  const proxyConf = nginxConf('proxy', ` upstream engine { server 127.0.0.1:${upPort}; keepalive 256; }\n server {\n  listen 127.0.0.1:${proxyPort};\n  location / { proxy_pass http://engine; proxy_http_version 1.1; proxy_set_header Connection ""; }\n }`);
  const nginxProxy = launch(0, nginx, ['-c', proxyConf, '-e', join(tmp, 'proxy', 'error.log')]);
  await waitHttp(`http://127.0.0.1:${proxyPort}/health`);

  // Portkey's server binds every interface; a preload pins it to loopback.
  const portkeyPort = await freePort();
  const loopback = `data:text/javascript,import net from 'node:net';const l=net.Server.prototype.listen;net.Server.prototype.listen=function(...a){if(typeof a[0]==='number'&&typeof a[1]!=='string')a.splice(1,0,'127.0.0.1');else if(a[0]&&typeof a[0]==='object'&&!a[0].host)a[0]={...a[0],host:'127.0.0.1'};return l.apply(this,a)}`;
  const portkeyMain = join(root, 'node_modules/@portkey-ai/gateway/build/start-server.js');
  const portkey = await start(0, node, ['--import', loopback, portkeyMain, `--port=${portkeyPort}`, '--headless'], /Ready for connections/, 30_000);
  const portkeyHeaders = { 'x-portkey-provider': 'openai', 'x-portkey-custom-host': `${upUrl}/v1`, authorization: 'Bearer sk-bench' };

  const gw2Config = join(tmp, 'gateway-canned.yaml');
  writeFileSync(gw2Config, `logLevel: warn\npools:\n  - name: canned\n    models: [llama-3.1-8b]\n    policy: round-robin\n    saturation: null\n    endpoints: [{url: "${upUrl}", engine: openai}]\n`);
  const gw2 = await start(0, node, [cli, 'serve', '--config', gw2Config, '--port', '0'], /listening on (http:\/\/\S+)/);
  const gw2Url = gw2.match[1]!;

  const floor = await startFloor(upUrl);
  const floorPort = floor.port;
  const compareDir = args['compare-gateway'];
  const compared = compareDir
    ? await startCompared(gw2Config)
    : undefined;

  const targets: [string, string, string, Record<string, string>, number | undefined][] = [
    ['upstream direct', upUrl, '/v1/chat/completions', {}, undefined],
    ['nginx', `http://127.0.0.1:${proxyPort}`, '/v1/chat/completions', {}, nginxProxy.pid],
    ['inferstack gateway', gw2Url, '/v1/chat/completions', {}, gw2.child.pid],
    ['node:http+undici floor', `http://127.0.0.1:${floorPort}`, '/v1/chat/completions', {}, floor.pid],
    ...(compared ? [['compared gateway', compared.match[1]!, '/v1/chat/completions', {}, compared.child.pid] as (typeof targets)[number]] : []),
    ['portkey', `http://127.0.0.1:${portkeyPort}`, '/v1/chat/completions', portkeyHeaders, portkey.child.pid],
  ];
  const CONNECTIONS = 64;
  for (const [, url, path, headers] of targets) await throughput(url, path, headers, CONNECTIONS, 1); // warm-up
  const rps: Record<string, number[]> = {};
  const cpu: Record<string, number[]> = {};
  const errors: Record<string, number> = {};
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, url, path, headers, pid] of targets) {
      const t = await throughput(url, path, headers, CONNECTIONS, SECONDS, pid);
      (rps[name] ??= []).push(t.rps);
      (cpu[name] ??= []).push(t.cpuSecondsPerKiloRequest);
      errors[name] = (errors[name] ?? 0) + t.errors;
    }
  }
  const m = Object.fromEntries(Object.entries(rps).map(([k, v]) => [k, median(v)]));
  // CPU per request of the proxy process itself: robust to other load on a shared machine.
  const c = Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, median(v)]));
  const perCore = (k: string) => 1000 / c[k]!; // requests per CPU-second
  const ratios = {
    gatewayOverNginx: m['inferstack gateway']! / m['nginx']!,
    gatewayOverPortkey: m['inferstack gateway']! / m['portkey']!,
    perCpuSecondGatewayOverNginx: perCore('inferstack gateway') / perCore('nginx'),
    perCpuSecondGatewayOverPortkey: perCore('inferstack gateway') / perCore('portkey'),
    perCpuSecondFloorOverNginx: perCore('node:http+undici floor') / perCore('nginx'),
    perCpuSecondGatewayOverFloor: perCore('inferstack gateway') / perCore('node:http+undici floor'),
    ...(compared ? { perCpuSecondGatewayOverCompared: perCore('inferstack gateway') / perCore('compared gateway') } : {}),
  };
  console.log(`\nsmall non-streaming requests, ${CONNECTIONS} connections, median of ${ROUNDS} rounds:`);
  console.log(`  ${'target'.padEnd(20)} ${'req/s'.padStart(8)}  ${'proxy CPU ms/req'.padStart(16)}  ${'req per CPU-s'.padStart(13)}  errors`);
  for (const [name] of targets) console.log(`  ${name.padEnd(20)} ${fmt(m[name]!, 0).padStart(8)}  ${fmt(c[name]!, 3).padStart(16)}  ${fmt(perCore(name), 0).padStart(13)}  ${errors[name]}`);
  console.log(`  gateway / nginx   = ${fmt(ratios.gatewayOverNginx)}x throughput, ${fmt(ratios.perCpuSecondGatewayOverNginx)}x per CPU-second   (bar: >= 0.4x)`);
  console.log(`  gateway / portkey = ${fmt(ratios.gatewayOverPortkey)}x throughput, ${fmt(ratios.perCpuSecondGatewayOverPortkey)}x per CPU-second   (bar: >= 10x)`);
  console.log(`  floor / nginx     = ${fmt(ratios.perCpuSecondFloorOverNginx)}x per CPU-second; gateway / floor = ${fmt(ratios.perCpuSecondGatewayOverFloor)}x`);
  if (compared) console.log(`  gateway / compared gateway (${compareDir}) = ${fmt(ratios.perCpuSecondGatewayOverCompared!)}x per CPU-second`);
  printJson({ streaming, throughput: { connections: CONNECTIONS, rps: m, cpuMsPerRequest: c, errors, ratios } });
}

function printJson(result: unknown): void {
  console.log('\n' + JSON.stringify(result));
}

try {
  await main();
} finally {
  cleanup();
}
process.exit(0);
