import path from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as faceapi from '@vladmandic/face-api/dist/face-api.node-wasm';

/**
 * The independent judge of generated faces: @vladmandic/face-api on the tfjs WASM backend,
 * weights and WASM binaries read from node_modules, so it runs offline and on any CPU.
 * The generator is never trained against these networks, so their verdicts are not gamed.
 */

const FACE_API_DIR = path.dirname(require.resolve('@vladmandic/face-api/package.json'));
const WASM_DIR = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
export const MODEL_DIR = path.join(FACE_API_DIR, 'model');

/** Size the judge sees: big enough for its 150 px recogniser crop, the size an API client would pick. */
export const JUDGE_RESOLUTION = 256;

/** Descriptor distance below which face-api's recogniser calls two faces the same person. */
export const SAME_PERSON_DISTANCE = 0.6;

export const EXPRESSIONS = ['neutral', 'happy', 'sad', 'angry', 'fearful', 'disgusted', 'surprised'] as const;
export type Expression = (typeof EXPRESSIONS)[number];

export interface Judgement {
  detected: boolean;
  /** Detector confidence of the best face (0 when none). */
  score: number;
  gender?: 'male' | 'female';
  genderProbability?: number;
  age?: number;
  expressions?: Record<Expression, number>;
  topExpression?: Expression;
  /**
   * Head yaw in degrees from the 68 landmarks; positive = nose turned towards the image's left
   * (the subject's right), the sign scripts/training/label.py's yaw labels carry on real photos.
   */
  yaw?: number;
  /** Median CIE L* of the two cheek patches (0 black .. 100 white). */
  skinLightness?: number;
  /** Skin tone 0-10 (higher = darker) from the cheeks' ITA angle, the same scale the labeller uses. */
  skinTone?: number;
  /**
   * 128-d face descriptor. For an undetected image it is computed on the whole frame, so that a
   * Fréchet distance over a set still sees (and is penalised by) the images that are not faces.
   */
  descriptor: Float32Array;
}

export interface RgbImage {
  data: Buffer;
  width: number;
  height: number;
}

export interface JudgeOptions {
  /** SSD MobileNet confidence needed to call something a face. face-api's own default is 0.5. */
  minConfidence?: number;
  /** Grey border added on each side before detection, as a fraction of the image side. */
  padFraction?: number;
}

/** Makes any attempt to reach the network fail loudly: the judge must run offline. */
export function forbidNetwork(): void {
  const refuse = () => {
    throw new Error('network access is disabled during evaluation');
  };
  (globalThis as { fetch?: unknown }).fetch = refuse;
}

let backendReady: Promise<void> | undefined;

async function initBackend(): Promise<void> {
  // The WASM backend loads its .wasm from the prefix; a local directory keeps it off the CDN.
  setWasmPaths(WASM_DIR + path.sep);
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs WASM backend failed to initialise');
  await tf.ready();
  const nets = faceapi.nets;
  await Promise.all([
    nets.ssdMobilenetv1.loadFromDisk(MODEL_DIR),
    nets.faceLandmark68Net.loadFromDisk(MODEL_DIR),
    nets.faceRecognitionNet.loadFromDisk(MODEL_DIR),
    nets.ageGenderNet.loadFromDisk(MODEL_DIR),
    nets.faceExpressionNet.loadFromDisk(MODEL_DIR),
  ]);
}

export class Judge {
  private readonly options: faceapi.SsdMobilenetv1Options;

  private constructor(
    readonly minConfidence: number,
    readonly padFraction: number,
  ) {
    this.options = new faceapi.SsdMobilenetv1Options({ minConfidence, maxResults: 5 });
  }

  static async load(opts: JudgeOptions = {}): Promise<Judge> {
    backendReady ??= initBackend();
    await backendReady;
    return new Judge(opts.minConfidence ?? 0.5, opts.padFraction ?? 0.75);
  }

  get backend(): string {
    return tf.getBackend();
  }

  /** Judges an encoded image (JPEG, WebP, PNG...). */
  async judgeEncoded(bytes: Buffer | string): Promise<Judgement> {
    const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    return this.judge({ data, width: info.width, height: info.height });
  }

  /**
   * The detector alone, with judge()'s border and threshold: whether judge() would find a face,
   * at a fraction of its cost (no landmarks, expressions, age or descriptor).
   */
  async detect(bytes: Buffer): Promise<{ detected: boolean; score: number }> {
    const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const padded = padForDetector({ data, width: info.width, height: info.height }, this.padFraction);
    const input = faceapi.tf.tensor3d(new Int32Array(padded.data), [padded.height, padded.width, 3], 'int32');
    try {
      const res = await faceapi.detectSingleFace(input, this.options);
      return res ? { detected: true, score: res.score } : { detected: false, score: 0 };
    } finally {
      input.dispose();
    }
  }

  async judge(img: RgbImage): Promise<Judgement> {
    const padded = padForDetector(img, this.padFraction);
    const input = faceapi.tf.tensor3d(new Int32Array(padded.data), [padded.height, padded.width, 3], 'int32');
    try {
      const res = await faceapi
        .detectSingleFace(input, this.options)
        .withFaceLandmarks()
        .withFaceExpressions()
        .withAgeAndGender()
        .withFaceDescriptor();
      if (!res) {
        const whole = faceapi.tf.tensor3d(new Int32Array(img.data), [img.height, img.width, 3], 'int32');
        try {
          const d = await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(whole);
          return { detected: false, score: 0, descriptor: d as Float32Array };
        } finally {
          whole.dispose();
        }
      }
      const pts = res.landmarks.positions.map((p) => ({ x: p.x, y: p.y }));
      const expressions = Object.fromEntries(EXPRESSIONS.map((e) => [e, res.expressions[e] ?? 0])) as Record<Expression, number>;
      const topExpression = EXPRESSIONS.reduce((a, b) => (expressions[b] > expressions[a] ? b : a));
      const skin = cheekColour(padded, pts);
      return {
        detected: true,
        score: res.detection.score,
        gender: res.gender === 'male' ? 'male' : 'female',
        genderProbability: res.genderProbability,
        age: res.age,
        expressions,
        topExpression,
        yaw: yawFromLandmarks(pts),
        skinLightness: skin.L,
        skinTone: skin.tone,
        descriptor: res.descriptor,
      };
    } finally {
      input.dispose();
    }
  }
}

/**
 * UTKFace-style tight crops (and generated "closeup" faces) fill the frame edge to edge, and SSD
 * MobileNet then misses most of them (5 of 30 UTKFace photos found without a border, 29 of 30 with
 * 75 % per side; CelebA-HQ portraits are found either way). The border is applied to every image,
 * real or generated, so the comparison stays fair.
 */
export function padForDetector(img: RgbImage, fraction: number): RgbImage {
  const p = Math.round(Math.max(img.width, img.height) * fraction);
  const width = img.width + 2 * p;
  const height = img.height + 2 * p;
  const data = Buffer.alloc(width * height * 3, 128);
  for (let y = 0; y < img.height; y++) {
    img.data.copy(data, ((y + p) * width + p) * 3, y * img.width * 3, (y + 1) * img.width * 3);
  }
  return { data, width, height };
}

type Pt = { x: number; y: number };

/**
 * Yaw from where the nose tip (30) sits between the face contour's ends (0 and 16), measured
 * along the eye line so head roll does not leak in. On a roughly cylindrical head the offset
 * from the centre is sin(yaw) of the half-width. Negated so that a nose towards the image's
 * left is positive: on 35 turned real photos the training labels' yaw correlates r = -0.76
 * with the unnegated value, and a judge that disagrees with the labels on sign would report
 * a working yaw control as a failing one.
 */
export function yawFromLandmarks(pts: Pt[]): number {
  const eyeL = mean(pts.slice(36, 42));
  const eyeR = mean(pts.slice(42, 48));
  const len = Math.hypot(eyeR.x - eyeL.x, eyeR.y - eyeL.y) || 1;
  const ux = (eyeR.x - eyeL.x) / len;
  const uy = (eyeR.y - eyeL.y) / len;
  const along = (p: Pt) => p.x * ux + p.y * uy;
  const left = along(pts[0]);
  const right = along(pts[16]);
  const r = (along(pts[30]) - left) / (right - left || 1);
  const s = Math.max(-1, Math.min(1, 2 * r - 1));
  return (-Math.asin(s) * 180) / Math.PI;
}

function mean(ps: Pt[]): Pt {
  return { x: ps.reduce((s, p) => s + p.x, 0) / ps.length, y: ps.reduce((s, p) => s + p.y, 0) / ps.length };
}

/**
 * Cheek colour: square patches centred between the lower eyelid, the nose wing and the jaw, where
 * there is skin but rarely beard, glasses or shadow from the nose. The median resists stray hair.
 */
function cheekColour(img: RgbImage, pts: Pt[]): { L: number; tone: number } {
  const faceWidth = Math.hypot(pts[16].x - pts[0].x, pts[16].y - pts[0].y);
  const half = Math.max(1, Math.round(faceWidth * 0.06));
  const centres = [mean([pts[41], pts[31], pts[2], pts[3]]), mean([pts[46], pts[35], pts[14], pts[13]])];
  const Ls: number[] = [];
  const bs: number[] = [];
  for (const c of centres) {
    const cx = Math.round(c.x);
    const cy = Math.round(c.y);
    for (let y = cy - half; y <= cy + half; y++) {
      for (let x = cx - half; x <= cx + half; x++) {
        if (x < 0 || y < 0 || x >= img.width || y >= img.height) continue;
        const i = (y * img.width + x) * 3;
        const [L, , b] = srgbToLab(img.data[i], img.data[i + 1], img.data[i + 2]);
        Ls.push(L);
        bs.push(b);
      }
    }
  }
  const L = median(Ls);
  const b = median(bs);
  const ita = (Math.atan2(L - 50, Math.max(b, 1e-3)) * 180) / Math.PI;
  return { L, tone: Math.max(0, Math.min(10, ((60 - ita) / 90) * 10)) };
}

function median(xs: number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** sRGB 8-bit -> CIE L*a*b* (D65), as scripts/training/label.py measures skin tone. */
export function srgbToLab(r8: number, g8: number, b8: number): [number, number, number] {
  const lin = (v: number) => {
    const c = v / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const [r, g, b] = [lin(r8), lin(g8), lin(b8)];
  const X = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
  const Y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  const Z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
  const f = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : ((24389 / 27) * t + 16) / 116);
  const [fx, fy, fz] = [f(X), f(Y), f(Z)];
  return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
}

/** Euclidean distance between two descriptors (face-api's metric for "same person"). */
export function descriptorDistance(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}
