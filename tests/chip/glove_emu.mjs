// The glove's own runner around the chip bench's emu.mjs: drivable multiplexer inputs and a
// record of the output pins, over a control socket.
//
//   node glove_emu.mjs --ctl CTL.sock [every emu.mjs option]
//
// It must sit next to emu.mjs in a copy of the bench (node resolves rp2040js from there).
// It patches the RP2040 instance emu.mjs creates, then runs emu.mjs unchanged, so
// everything emu.mjs does (USB, flash, pacing, stats, heap watch, late-tick detection)
// stays as it is. What it adds:
//  - the value of each of the 16 multiplexer inputs comes from this runner once a host
//    has set it: a constant per input ("set"), or a table played in emulated time from
//    the moment it is received ("play": rows of 16 little-endian u16 counts, one row per
//    step_us; the last row holds after the end). Before that, emu.mjs's own model reads.
//  - every change of the watched output pins (buzzers, LED) with its emulated time.
// Control: one JSON object per line on the unix socket CTL, one JSON reply per line.
//   {"op":"now"}                                  -> {"t_ns"}
//   {"op":"set","counts":[16 ints]}               -> {"t_ns"}
//   {"op":"play","file":F,"step_us":S}            -> {"t0_ns","rows"}
//   {"op":"pins"}                                 -> {"t_ns","pins":{gpio:[[t_ns,0|1],...]}}
//                                                    (changes since the last "pins", and
//                                                    "level": the current value of each)
//   {"op":"adc"}                                  -> {"t_ns","reads":n} conversions of ADC0
import fs from 'fs';
import net from 'net';
import { RP2040 } from 'rp2040js';

const argv = process.argv.slice(2);
const opt = (name, dflt) => { const i = argv.indexOf('--' + name); return i >= 0 ? argv[i + 1] : dflt; };
const CTL = opt('ctl', null);
const MUX = opt('mux', '2,3,4,5').split(',').map(Number);
const WATCH = opt('watch', '14,15,25').split(',').map(Number);
const LOG = (...a) => console.error('[glove-emu]', ...a);

let mcu = null;
let mode = 'bench';          // 'bench' (emu.mjs's model) | 'set' | 'play'
let fixed = new Uint16Array(16);
let table = null, step_ns = 1e6, t0_ns = 0, rows = 0;
let lastMux = 0, reads = 0;
const changes = new Map();   // gpio -> [[t_ns, v], ...]
const level = new Map();

function inputValue(m, tNs) {
  if (mode === 'set') return fixed[m];
  let r = Math.floor((tNs - t0_ns) / step_ns);
  if (r < 0) r = 0;
  if (r >= rows) r = rows - 1;
  return table.readUInt16LE((r * 16 + m) * 2);
}

function install(m) {
  mcu = m;
  const adc = mcu.adc;
  let onRead = null;
  // emu.mjs assigns adc.onADCRead after loadBootrom: keep its handler, note the selected input
  Object.defineProperty(adc, 'onADCRead', {
    configurable: true,
    get() { return onRead; },
    set(fn) {
      onRead = (channel) => {
        if (channel === 0) {
          let v = 0;
          for (let b = 0; b < 4; b++) if (mcu.gpio[MUX[b]].outputValue) v |= 1 << b;
          lastMux = v; reads++;
        }
        fn(channel);
      };
    },
  });
  const complete = adc.completeADCRead.bind(adc);
  adc.completeADCRead = (value, error) => {
    if (mode !== 'bench' && adc.activeChannel === 0) value = inputValue(lastMux, mcu.clock.nanos);
    complete(value, error);
  };
  for (const g of WATCH) {
    const pin = mcu.gpio[g];
    level.set(g, pin.outputValue ? 1 : 0);
    changes.set(g, []);
    pin.addListener(() => {
      const v = pin.outputValue ? 1 : 0;
      if (v !== level.get(g)) { level.set(g, v); changes.get(g).push([mcu.clock.nanos, v]); }
    });
  }
}

const loadBootrom0 = RP2040.prototype.loadBootrom;
RP2040.prototype.loadBootrom = function (data) {
  if (!mcu) install(this);
  return loadBootrom0.call(this, data);
};

function handle(req) {
  const t_ns = mcu ? mcu.clock.nanos : 0;
  switch (req.op) {
    case 'now': return { t_ns };
    case 'set':
      if (!Array.isArray(req.counts) || req.counts.length !== 16) throw new Error('set needs 16 counts');
      fixed = Uint16Array.from(req.counts.map((v) => Math.max(0, Math.min(4095, v | 0))));
      mode = 'set';
      return { t_ns };
    case 'play': {
      const buf = fs.readFileSync(req.file);
      if (buf.length % 32 || !buf.length) throw new Error('play: the table must be whole rows of 16 u16');
      table = buf; rows = buf.length / 32; step_ns = (+req.step_us || 1000) * 1000; t0_ns = t_ns;
      mode = 'play';
      return { t0_ns, rows };
    }
    case 'pins': {
      const out = {}; const lv = {};
      for (const [g, c] of changes) { out[g] = c.splice(0); lv[g] = level.get(g); }
      return { t_ns, pins: out, level: lv };
    }
    case 'adc': return { t_ns, reads };
    default: throw new Error('unknown op ' + req.op);
  }
}

if (CTL) {
  try { fs.unlinkSync(CTL); } catch (e) { /* not there */ }
  const server = net.createServer((sock) => {
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i); buf = buf.slice(i + 1);
        let rep;
        try { rep = { ok: true, ...handle(JSON.parse(line)) }; } catch (e) { rep = { ok: false, error: String(e.message || e) }; }
        sock.write(JSON.stringify(rep) + '\n');
      }
    });
    sock.on('error', () => {});
  });
  server.listen(CTL, () => LOG('control socket', CTL));
  server.unref();
}

await import('./emu.mjs');
