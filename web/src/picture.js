// The patient's trail as a picture taken in at a glance: one lane per reader, one mark
// per access at its time (opened, refused, break-glass), over the entries the page has
// loaded (the newest page, and older ones as they are shown). Drawn as SVG with a title
// on every mark, and summed up in words as the picture's accessible name.

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 720;
const LANE = 26;
const LEFT = 170;
const MAX_LANES = 8;
const MARKS = {
  opened: { color: '#2a7a3b', verb: 'opened' },
  refused: { color: '#b3261e', verb: 'was refused' },
  emergency: { color: '#c46a00', verb: 'broke the glass for' },
};

function element(name, attributes = {}, text = null) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== null) node.textContent = text;
  return node;
}

/** What an entry is in the picture, or null (consent changes and record writes are not). */
function markOf(kind) {
  if (kind.isAccess) return 'opened';
  if (kind.isDenied) return 'refused';
  if (kind.isEmergency) return 'emergency';
  return null;
}

function shape(mark, x, y) {
  const { color } = MARKS[mark];
  if (mark === 'opened') return element('circle', { cx: x, cy: y, r: 5, fill: color });
  if (mark === 'refused') {
    return element('path', { d: `M${x - 5} ${y - 5}L${x + 5} ${y + 5}M${x + 5} ${y - 5}L${x - 5} ${y + 5}`, stroke: color, 'stroke-width': 2.5 });
  }
  return element('path', { d: `M${x} ${y - 7}L${x + 7} ${y + 6}L${x - 7} ${y + 6}Z`, fill: color });
}

/**
 * The picture of `entries` (log entries as the metadata decodes them): `who(address)`
 * names a reader, `when(ms)` says a time. Returns the SVG element.
 */
export function trailPicture(entries, who, when) {
  const accesses = entries
    .map((e) => ({ mark: markOf(e.kind), actor: who(e.actor.toString()), at: Number(e.timestamp.toString()), record: e.record }))
    .filter((a) => a.mark !== null);
  const svg = element('svg', { role: 'img', width: WIDTH, viewBox: `0 0 ${WIDTH} ${LANE * 2}` });
  if (accesses.length === 0) {
    svg.setAttribute('aria-label', 'Who opened your records: nobody, in the entries shown.');
    svg.append(element('text', { x: 0, y: LANE, 'font-size': 13 }, 'Nobody opened your records in the entries shown.'));
    return svg;
  }
  const from = Math.min(...accesses.map((a) => a.at));
  const to = Math.max(...accesses.map((a) => a.at));
  const counts = new Map();
  for (const a of accesses) {
    const tally = counts.get(a.actor) ?? { opened: 0, refused: 0, emergency: 0, last: 0 };
    tally[a.mark] += 1;
    tally.last = Math.max(tally.last, a.at);
    counts.set(a.actor, tally);
  }
  // The readers seen most recently get a lane; the rest share the last one.
  const readers = [...counts.keys()].sort((a, b) => counts.get(b).last - counts.get(a).last);
  const lanes = readers.length > MAX_LANES ? [...readers.slice(0, MAX_LANES - 1), 'others'] : readers;
  const laneOf = (actor) => Math.min(readers.indexOf(actor), lanes.length - 1);
  const height = LANE * (lanes.length + 1);
  svg.setAttribute('viewBox', `0 0 ${WIDTH} ${height}`);
  svg.setAttribute('height', height);
  const x = (at) => LEFT + (to === from ? (WIDTH - LEFT) / 2 : ((at - from) / (to - from)) * (WIDTH - LEFT - 12) + 6);
  lanes.forEach((name, i) => {
    const y = LANE * (i + 0.5);
    svg.append(element('line', { x1: LEFT, x2: WIDTH, y1: y, y2: y, stroke: '#ddd' }));
    svg.append(element('text', { x: 0, y: y + 4, 'font-size': 13 }, name.length > 24 ? `${name.slice(0, 23)}…` : name));
  });
  for (const a of accesses) {
    const mark = shape(a.mark, x(a.at), LANE * (laneOf(a.actor) + 0.5));
    const record = a.record.isSome ? ` record ${a.record.unwrap()}` : '';
    mark.append(element('title', {}, `${a.actor} ${MARKS[a.mark].verb}${record}, ${when(a.at)}`));
    svg.append(mark);
  }
  svg.append(element('text', { x: LEFT, y: height - 6, 'font-size': 12, fill: '#555' }, when(from)));
  svg.append(element('text', { x: WIDTH, y: height - 6, 'font-size': 12, fill: '#555', 'text-anchor': 'end' }, when(to)));
  const said = readers.map((actor) => {
    const t = counts.get(actor);
    const parts = Object.keys(MARKS).filter((m) => t[m] > 0).map((m) => `${MARKS[m].verb} ${t[m]}`);
    return `${actor} ${parts.join(', ')}`;
  });
  svg.setAttribute('aria-label', `Who opened your records, ${when(from)} to ${when(to)}: ${said.join('; ')}.`);
  return svg;
}
