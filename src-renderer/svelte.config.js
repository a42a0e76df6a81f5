// Svelte compiler options for the renderer (Svelte 5 compiles TypeScript in <script lang="ts"> itself).
export default { compilerOptions: { runes: true } };
