// A fast, deterministic stand-in for the study's neural trainer: each "model" predicts the true
// probability blurred by seeded noise whose size depends on the ablation, so cells are instant,
// reproducible, and differ between ablations and seeds. `failAfter` makes the (k+1)-th training
// throw, as if the study were killed there.
import { Random } from '../../src/core/random.js';
import type { SeedData, TestCohort } from '../../src/study/data.js';
import type { CellTrainer, NeuralOutcome } from '../../src/study/neural.js';

const NOISE: Record<string, number> = { image: 2.5, clinical: 0.9, text: 1.6, full: 0.55, concat: 0.6 };

function blur(trueP: ArrayLike<number>, sd: number, seed: number): Float32Array {
  const rng = new Random(seed);
  return Float32Array.from(trueP, (p) => {
    const z = Math.log(p / (1 - p)) + rng.normal(0, sd);
    return 1 / (1 + Math.exp(-z));
  });
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
  return h;
}

export function fakeTrainer(options: { failAfter?: number } = {}): CellTrainer & { calls: number } {
  const trainer = {
    calls: 0,
    settings(spec: { id: string }, o: { quick: boolean; seeds: { model: number; trainer: number } }) {
      return { fake: true, ablation: spec.id, noise: NOISE[spec.id] ?? 1, quick: o.quick, seeds: o.seeds };
    },
    async train(job: Parameters<CellTrainer['train']>[0]): Promise<NeuralOutcome> {
      if (options.failAfter !== undefined && trainer.calls >= options.failAfter) throw new Error('killed');
      trainer.calls++;
      const sd = NOISE[job.spec.id] ?? 1;
      // the synthetic study's jobs: a seed's data and a scenario's test cohort
      const data = job.data as SeedData;
      const seed = hash(`${job.spec.id}|${data.scenario}|${data.seed}|${data.trainSize}`);
      return {
        val: blur(data.val.cohort.truePoorProbability, sd, seed),
        test: blur((job.test as TestCohort).trueProbability, sd, seed + 1),
        history: [{ epoch: 0, loss: 0.6, val_auc: 0.7 }, { epoch: 1, loss: 0.5, val_auc: 0.72 }],
        bestEpoch: 1,
        stoppedEarly: false,
      };
    },
  };
  return trainer;
}
