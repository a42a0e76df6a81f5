// Draws the sample images shipped in this folder (original drawings, CC0): `npx tsx assets/samples/make-samples.ts`.
import sharp from 'sharp';
const W = 384, H = 288;
const scenes: Record<string, string> = {
  'stop-sign': `<rect width="${W}" height="${H}" fill="#8ec5ef"/><rect y="210" width="${W}" height="78" fill="#777"/>
    <rect x="183" y="150" width="12" height="138" fill="#9a9a9a"/>
    <polygon points="159,40 219,40 261,82 261,142 219,184 159,184 117,142 117,82" fill="#c8102e" stroke="#fff" stroke-width="6"/>
    <text x="189" y="126" font-family="DejaVu Sans, Arial" font-weight="bold" font-size="38" fill="#fff" text-anchor="middle">STOP</text>
    <rect x="20" y="120" width="60" height="90" fill="#b5651d"/><rect x="300" y="100" width="70" height="110" fill="#d2b48c"/>`,
  'clock': `<rect width="${W}" height="${H}" fill="#e8dcc2"/>
    <circle cx="192" cy="144" r="110" fill="#fff" stroke="#222" stroke-width="10"/>
    ${Array.from({ length: 12 }, (_, i) => { const a = (i * Math.PI) / 6; return `<line x1="${192 + 88 * Math.sin(a)}" y1="${144 - 88 * Math.cos(a)}" x2="${192 + 100 * Math.sin(a)}" y2="${144 - 100 * Math.cos(a)}" stroke="#222" stroke-width="6"/>`; }).join('')}
    <line x1="192" y1="144" x2="192" y2="74" stroke="#111" stroke-width="8"/><line x1="192" y1="144" x2="245" y2="170" stroke="#111" stroke-width="6"/>
    <circle cx="192" cy="144" r="8" fill="#111"/>`,
  'pizza': `<rect width="${W}" height="${H}" fill="#7a4b2a"/>
    <circle cx="192" cy="144" r="125" fill="#f4f4f4"/><circle cx="192" cy="144" r="108" fill="#d99a3e"/><circle cx="192" cy="144" r="95" fill="#e8c547"/>
    ${[[150, 110], [230, 120], [190, 190], [140, 170], [240, 180], [195, 90], [175, 145]].map(([x, y]) => `<circle cx="${x}" cy="${y}" r="14" fill="#b22222"/>`).join('')}
    ${[[165, 125], [215, 155], [210, 105], [160, 195]].map(([x, y]) => `<circle cx="${x}" cy="${y}" r="6" fill="#2e7d32"/>`).join('')}`,
  'kite': `<rect width="${W}" height="${H}" fill="#6fb7f0"/><rect y="220" width="${W}" height="68" fill="#4caf50"/>
    <polygon points="250,30 300,90 250,170 200,90" fill="#e53935"/><line x1="250" y1="30" x2="250" y2="170" stroke="#222" stroke-width="2"/>
    <line x1="200" y1="90" x2="300" y2="90" stroke="#222" stroke-width="2"/>
    <path d="M250 170 Q230 200 200 215 T150 240" fill="none" stroke="#fff" stroke-width="2"/>
    <circle cx="140" cy="225" r="8" fill="#f1c27d"/><rect x="134" y="233" width="12" height="30" fill="#1e3a8a"/>
    <circle cx="70" cy="50" r="22" fill="#fff" opacity="0.9"/><circle cx="95" cy="50" r="28" fill="#fff" opacity="0.9"/>`,
  'bus': `<rect width="${W}" height="${H}" fill="#cfd8dc"/><rect y="200" width="${W}" height="88" fill="#555"/>
    <rect x="40" y="80" width="300" height="130" rx="12" fill="#d32f2f"/>
    ${[0, 1, 2, 3, 4].map((i) => `<rect x="${58 + i * 56}" y="98" width="44" height="44" fill="#bbdefb"/>`).join('')}
    <circle cx="100" cy="212" r="24" fill="#222"/><circle cx="280" cy="212" r="24" fill="#222"/>
    <circle cx="100" cy="212" r="10" fill="#999"/><circle cx="280" cy="212" r="10" fill="#999"/>`,
};
for (const [name, body] of Object.entries(scenes)) {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">${body}</svg>`;
  await sharp(Buffer.from(svg)).jpeg({ quality: 90 }).toFile(new URL(`./${name}.jpg`, import.meta.url).pathname);
}
