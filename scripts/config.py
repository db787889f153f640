"""Face Studio generator v1: every number that shapes the data, the model and training.

The condition layout here is the contract with the server: export.py copies it into
models/<name>/manifest.json and server/generator/condition.ts builds vectors from it.
"""

MODEL_NAME = "facestudio-v1"
RESOLUTION = 64          # native output size; 64 because v1 trains on a 2-core CPU
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

# Training: a conditional VAE first (it finds the face manifold in a few epochs, which a
# GAN alone did not on a 2-core CPU: 0/210 faces detected after 64 kimg), then the same
# generator and encoder go on with a discriminator added (VAE-GAN) to sharpen the samples
# drawn from the prior, which is all the server ever draws.
BATCH = 32
LR_VAE = 3e-4             # G and E while there is no discriminator (1e-3 diverged at 11 kimg)
LR_G = 2e-4               # G and E once the discriminator is on
LR_D = 2e-4
BETAS = (0.5, 0.99)
REC_WEIGHT = 2.0          # sum of squared error over the [-1, 1] image: a Gaussian likelihood, sigma 0.5
KL_WEIGHT = 1.0
REWARM_KIMG = 8          # --init-from: E learns to invert the shipped G (G frozen) before D returns
ADV_START_KIMG = 64       # the discriminator joins after this many thousand images
ADV_WEIGHT = 30.0         # ~1 % of the reconstruction term's scale, as pix2pix weighs its GAN term
# The VAE alone ignores c (the encoder sees the image, so z carries gender and age: at
# 32 kimg flipping gender moved pixels 0.009 against 0.14 for a new z). What forces G to
# follow c is D's attribute head judging G(z, c') for random c', with z from the prior
# and from other images' posteriors (so a z that "remembers" a gender is overruled).
AUX_G_WEIGHT = 300.0
# The same problem attacked at its root: A(z) reads c back from the posterior mean and
# E is pushed to make it read someone else's c (bounded, unlike maximising A's error; at
# equilibrium A can only guess the average). c is standardised per component first, so
# hiding gender weighs as much as hiding age. Weight 40 on raw c lost to reconstruction:
# at 32 kimg A still read c and flipping gender moved pixels 0.010 against 0.127 for a
# new z. Now each attribute z gives away costs up to LAT_ADV_WEIGHT, about what knowing
# it saves in reconstruction error, so G is better off reading c.
LAT_ADV_WEIGHT = 100.0
LAT_ADV_RAMP_KIMG = 8.0   # ramped in: an untrained E gives A nothing to read anyway
LR_A = 1e-3
# Fader alone was not enough on a CPU budget: at 48 kimg flipping gender moved pixels 0.023
# against 0.23 for a new z. The frozen critic's reading of G(z, c') is pulled toward c'
# (standardised, summed over components): a drawing of the wrong gender costs ~4 * weight,
# an age 20 years off ~1 * weight, against ~2000 for the reconstruction term.
ATTR_WEIGHT = 100.0
# Full weight only where the critic is reliable and the judge looks: at 16 kimg, equal
# weights on all 23 components drew yellow and magenta patches (G passing the critic's
# ethnicity, skin and lighting readings through colour casts rather than faces).
ATTR_FOCUS = {"gender": 1.0, "age": 1.0, "eyewear": 0.5, "mood": 0.5}
ATTR_OTHERS = 0.2
CRITIC_EPOCHS = 3
R1_GAMMA = 0.5
R1_EVERY = 8
EMA_HALFLIFE_KIMG = 5.0   # short: a CPU run is a few hundred kimg at most
AUX_WEIGHT = 2.0          # D's auxiliary attribute regression on reals
G_CH = [256, 128, 64, 32, 16]  # channels at 4, 8, 16, 32, 64 px (narrow: CPU budget)
D_CH = [16, 32, 64, 128, 256]  # channels at 64, 32, 16, 8, 4 px
SAMPLE_EVERY = 500
CHECKPOINT_EVERY = 500
