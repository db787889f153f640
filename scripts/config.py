"""Face Studio generator v1: every number that shapes the data, the model and training.

The condition layout here is the contract with the server: export.py copies it into
models/<name>/manifest.json and server/generator/condition.ts builds vectors from it.
"""

MODEL_NAME = "facestudio-v1"
RESOLUTION = 64          # native output size: 64 because a session gets minutes of GPU, not hours
LATENT_DIM = 128         # z: drawn only from the seed

# Data groups of the labels; the API's seven ethnicities map onto these (see MODEL_CARD).
ETHNICITY_GROUPS = ["white", "black", "asian", "indian", "other"]
EYEWEAR = ["none", "eyeglasses", "sunglasses"]
LIGHTING = ["studio", "natural", "artistic"]
MOODS = ["neutral", "happy", "sad", "angry", "surprised"]

# (name, size, meaning). Scalars are scaled to about [0, 1] (yaw to [-1, 1]).
CONDITION_LAYOUT = [
    ("gender", 1, "1 = male, 0 = female"),
    ("age", 1, "age in years / 80"),
    ("ethnicity", len(ETHNICITY_GROUPS), "one-hot over ETHNICITY_GROUPS"),
    ("skintone", 1, "skintone 0-10 / 10 (ITA of the cheeks)"),
    ("eyewear", len(EYEWEAR), "one-hot over EYEWEAR"),
    ("facial_hair", 1, "0-10 / 10"),
    ("hair_length", 1, "0-10 / 10"),
    ("lighting", len(LIGHTING), "one-hot over LIGHTING"),
    ("zoom", 1, "1 = closeup (tight crop), 0 = standard portrait"),
    ("mood", len(MOODS), "one-hot over MOODS"),
    ("yaw", 1, "head yaw degrees / 60"),
]
COND_DIM = sum(size for _, size, _ in CONDITION_LAYOUT)

# Where the face sits in each set's 128 px frame, as (top, left, size): used to bring
# both sets into one tight-crop frame for measuring and for the cross-set labellers.
# The CelebA-HQ box is where the mean CelebA-HQ face best correlates with the mean UTKFace face
# (0.944); an earlier (30, 20, 88) sat 5 px high and labelled a fifth of CelebA-HQ as under 10.
FACE_BOX = {"utkface": (0, 0, 128), "celebahq": (38, 24, 80)}

# Training: a conditional GAN (StyleGAN-like G with FiLM, residual projection D), trained on
# a GPU machine from a compact pack (scripts/pack.py). The CPU-only VAE-GAN that came before
# drew face layouts but no face a detector accepted (0/210 after 112 kimg on 2 cores); a GAN
# needs millions of images shown, which only the GPU gives in the time a session has.
BATCH = 64
LR_G = 2e-4
LR_D = 2e-4
BETAS = (0.0, 0.99)
R1_GAMMA = 0.1            # lazy R1 on reals; between StyleGAN2-ADA's 64 px heuristic (0.013) and its 256 px default (1)
R1_EVERY = 16
AUX_WEIGHT = 1.0          # D's auxiliary regression of standardised c on reals: attribute-aware features
# The frozen critic's reading of G(z, c) is pulled toward c (standardised, summed over
# components; AttGAN's classifier loss): a face of the wrong gender costs ~4 * weight, an age
# 20 years off ~1 * weight, next to a non-saturating loss of ~1. Ramped in, so that it does not
# steer G before G draws faces.
ATTR_WEIGHT = 0.5
ATTR_RAMP_KIMG = 300
# Full weight only where the critic is reliable and the judge looks: on the CPU VAE, equal
# weights on all components drew yellow and magenta patches (G passing the critic's
# ethnicity, skin and lighting readings through colour casts rather than faces).
ATTR_FOCUS = {"gender": 1.0, "age": 1.0, "eyewear": 0.5, "mood": 0.5}
ATTR_OTHERS = 0.2
CRITIC_EPOCHS = 4
D_WARMUP_KIMG = 64        # --init-from: a fresh D trains alone this long (seconds on a GPU) before G follows it
EMA_HALFLIFE_KIMG = 10.0  # with StyleGAN's ramp-up: at most 5 % of the images shown so far
G_CH = [384, 256, 128, 64, 32]  # channels at 4, 8, 16, 32, 64 px
D_CH = [32, 64, 128, 256, 384]  # channels at 64, 32, 16, 8, 4 px
SAMPLE_EVERY = 1000       # steps
CHECKPOINT_EVERY = 1000
