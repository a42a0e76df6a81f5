/**
 * The schedules a study compares by default, in table order (the notes' table: teacher forcing, always sampling,
 * then the three decays), and a colour per ε schedule, the same in the study's PNG chart and the app's Compare schedules panel (Okabe–Ito,
 * colour-blind-safe). Import-free, so the renderer can take it through the contract.
 */
import type { EpsilonScheduleType } from '../engine/schedules.ts';

export const STUDY_SCHEDULES = ['none', 'always', 'linear', 'exponential', 'inverse-sigmoid'] as const satisfies readonly EpsilonScheduleType[];

export const SCHEDULE_COLOURS: { readonly [T in EpsilonScheduleType]: string } = {
  none: '#0072b2',
  always: '#d55e00',
  linear: '#009e73',
  exponential: '#cc79a7',
  'inverse-sigmoid': '#e69f00',
};
