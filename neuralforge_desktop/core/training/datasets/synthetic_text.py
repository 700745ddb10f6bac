"""Two small text datasets generated on the spot, so that text models can be tried with no download.

``reviews()``: one-sentence movie reviews labelled negative (0) or positive (1), balanced. Most carry their
label in the adjective, but a negation flips it ("was not great"), "could not have been more dull" keeps it,
and in "X is great, but Y is awful" the clause after "but" decides: a bag of words gets part of the way, word
order the rest.

``stories()``: short children's stories from a small grammar, about 370 KB of running text with names,
pronouns that agree with them and recurring phrases: a corpus a small language model learns visibly in an
epoch (its perplexity falls from the vocabulary size to a few tens).

Both come from ``random.Random`` with a fixed seed, whose sequence Python keeps stable, so every machine
generates the same text; the training seed does not change it (it decides the split, as for any dataset).
"""

from __future__ import annotations

import random

REVIEWS_SEED = 20_240_601
STORIES_SEED = 20_240_602
REVIEW_COUNT = 4_000  # the pool train and validation come from
REVIEW_TEST_COUNT = 400
STORY_COUNT = 1_000

POSITIVE = ("great", "wonderful", "brilliant", "moving", "delightful", "superb", "charming", "gripping", "funny",
            "beautiful", "clever", "memorable")
NEGATIVE = ("awful", "boring", "terrible", "dull", "clumsy", "tedious", "weak", "bland", "messy", "forgettable",
            "silly", "slow")
SUBJECTS = ("the film", "this movie", "the acting", "the story", "the plot", "the ending", "the cast", "the script",
            "the music", "the dialogue", "the direction", "the camera work")
ADVERBS = ("", "really", "truly", "quite", "very", "rather", "simply")
OPENERS = ("", "honestly,", "overall,", "in the end,", "i think", "to be fair,", "frankly,")


def _join(*words: str) -> str:
    return " ".join(w for w in words if w)


def _review(rng: random.Random, label: int) -> str:
    """One review whose sentiment is ``label`` (1 positive, 0 negative)."""
    good, bad = (POSITIVE, NEGATIVE) if label else (NEGATIVE, POSITIVE)
    subject, other = rng.sample(SUBJECTS, 2)
    opener, adverb = rng.choice(OPENERS), rng.choice(ADVERBS)
    form = rng.randrange(6)
    if form == 0:
        return _join(opener, subject, "was", adverb, rng.choice(good)) + "."
    if form == 1:  # a negation flips the adjective
        return _join(opener, subject, "was not", adverb, rng.choice(bad)) + "."
    if form == 2:  # the clause after "but" decides
        return _join(subject, "is", rng.choice(bad) + ", but", other, "is", adverb, rng.choice(good)) + "."
    if form == 3:
        return _join(subject, "was", rng.choice(good), "and", other, "was", rng.choice(good)) + "."
    if form == 4:  # "not" that does not flip
        return _join(opener, subject, "could not have been more", rng.choice(good)) + "."
    verb = "would recommend it" if label else "would not recommend it"
    return _join("i", verb + ":", subject, "is", adverb, rng.choice(good)) + "."


def reviews() -> tuple[list[str], list[int], list[str], list[int]]:
    """(texts, labels, test texts, test labels), labels balanced and shuffled."""
    rng = random.Random(REVIEWS_SEED)

    def batch(n: int) -> tuple[list[str], list[int]]:
        labels = [i % 2 for i in range(n)]
        rng.shuffle(labels)
        return [_review(rng, label) for label in labels], labels

    texts, labels = batch(REVIEW_COUNT)
    test_texts, test_labels = batch(REVIEW_TEST_COUNT)
    return texts, labels, test_texts, test_labels


_HEROES = (("Mia", "she", "her"), ("Leo", "he", "his"), ("Ava", "she", "her"), ("Sam", "he", "his"),
           ("Zoe", "she", "her"), ("Max", "he", "his"), ("Lily", "she", "her"), ("Ben", "he", "his"),
           ("Nora", "she", "her"), ("Finn", "he", "his"))
_ANIMALS = ("cat", "dog", "rabbit", "fox", "bird", "turtle", "mouse", "bear", "duck", "frog")
_TRAITS = ("little", "brave", "curious", "happy", "sleepy", "clever", "kind", "shy", "tiny", "funny")
_HOMES = ("a small house", "a big forest", "a quiet village", "a green garden", "a busy town", "a cozy farm")
_NEAR = ("the river", "the hill", "the old tree", "the lake", "the park", "the sea")
_LIKES = ("play in the sun", "read books", "climb trees", "eat apples", "sing songs", "run very fast",
          "look at the stars", "build little boats")
_FINDS = ("a red ball", "a shiny key", "a lost hat", "a blue box", "a small map", "a golden leaf", "an old book")
_WHERE = ("under a rock", "behind the door", "in the tall grass", "next to the water", "on the path")
_TOGETHER = ("played until the sun went down", "looked for the owner of the {thing}", "went on a long walk",
             "shared a big lunch", "followed the {thing} to a secret place", "laughed and sang songs")
_FEELINGS = ("happy", "proud", "excited", "glad", "tired but happy")
_SAYINGS = ("What is this?", "Look what I found!", "This is so pretty!", "I wonder who lost this.")


def _story(rng: random.Random) -> str:
    name, he, his = rng.choice(_HEROES)
    animal, friend = rng.sample(_ANIMALS, 2)
    trait, friend_trait = rng.sample(_TRAITS, 2)
    thing = rng.choice(_FINDS)
    short = thing.split(" ", 1)[1].split()[-1]  # "a red ball" -> "ball"
    she_cap = he.capitalize()
    lines = [
        f"Once upon a time, there was a {trait} {animal} named {name}.",
        f"{name} lived in {rng.choice(_HOMES)} near {rng.choice(_NEAR)}.",
        f"Every day, {he} liked to {rng.choice(_LIKES)}.",
        f"One day, {name} found {thing} {rng.choice(_WHERE)}.",
        f"\"{rng.choice(_SAYINGS)}\" {he} said.",
        f"{name} showed the {short} to {his} friend, a {friend_trait} {friend}.",
        f"Together they {rng.choice(_TOGETHER).format(thing=short)}.",
    ]
    if rng.random() < 0.5:
        lines.append(f"{she_cap} liked the {short} very much.")
    lines.append(f"At the end of the day, {name} was very {rng.choice(_FEELINGS)}. The end.")
    return " ".join(lines)


def stories() -> list[str]:
    """The stories, one string each (a corpus loader joins them with blank lines)."""
    rng = random.Random(STORIES_SEED)
    return [_story(rng) for _ in range(STORY_COUNT)]
