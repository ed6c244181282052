"""`spacy_mner.social_tokenizer.v1`: spaCy's English tokenizer with the rules of social media posts.

Apps call `nlp(text)`, so a pipeline is only as good as its tokenizer's splits: spaCy's English rules cut
`#Blackhawks` into `#` `Blackhawks`, a truncated link `http:…` into three tokens and `👍🏽` into two, while
Twitter-2015's annotators kept them whole (and 9% of its entities start with `#` or `@`). This tokenizer
keeps spaCy's English rules (prefixes, suffixes, infixes, exceptions, URLs) and adds, as one token each:
hashtags, @mentions and cashtags (their `#`, `@`, `$` are no longer split off as prefixes); URLs, also
truncated ones ending in `…`; emoticons spaCy lacks (`xD`); emoji sequences (skin tones, ZWJ families,
flags, variation selectors); and HTML entities left escaped by the API (`&amp;` -> `&amp` `;`, as the
corpus has them). Where the annotators split differently from spaCy it follows them: hyphenated and
slashed words stay whole (`Anheuser-Busch`, `w/GoogleDraw`), and an apostrophe inside a word is a token
of its own (`I've` -> `I` `'` `ve`, `Sox's` -> `Sox` `'` `s`) rather than spaCy's contraction splits. Everything is a regex or a special case of spaCy's own `Tokenizer`, so `nlp.to_disk`
saves it and `spacy.load` rebuilds it without this package's code path being special.
"""
import re
from typing import Callable, List

from spacy.language import Language
from spacy.tokenizer import Tokenizer
from spacy.util import compile_infix_regex, compile_prefix_regex, compile_suffix_regex, registry

# one emoji "grapheme": a pictograph with its skin tone / variation selector, joined by ZWJ to more; or a flag
_PICTOGRAPH = "[\U0001F300-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\u2300-\u23FF]"
_MODIFIERS = "[\U0001F3FB-\U0001F3FF\uFE0F\u20E3]*"
EMOJI = f"(?:[\U0001F1E6-\U0001F1FF]{{2}}|{_PICTOGRAPH}{_MODIFIERS}(?:\u200d{_PICTOGRAPH}{_MODIFIERS})*)"
HASHTAG = r"#\w+"
MENTION = r"@\w+"
CASHTAG = r"\$[A-Za-z]+(?:\.[A-Za-z]+)*"  # $AAPL, $BRK.B; not a sentence-final period
# a link the API cut short: any prefix of "https://..." ending in the ellipsis
TRUNCATED_URL = r"h(?:t(?:t(?:p(?:s)?)?)?)?(?::(?:/(?:/\S*)?)?)?…|(?:https?://|www\.)\S*…"
# a whole link (before spaCy's suffix rules can cut a unit such as "g" off "http://t.co/Y03E9Ekg2g")
URL = r"(?:https?://|www\.)[\w./?=&%#~+:-]*[\w/]"
APOSTROPHE = r"(?<=[^\W\d_])['’](?=[^\W\d_])"
EMOTICONS = ["xD", "XD", "xd", ":')", ":'(", "^_^", "^^", "-_-", "o_O", "O_o", ":-|", ";-)", ";)", ":P", ":-P"]
HTML_ENTITIES = ["&amp", "&gt", "&lt", "&quot", "&apos", "&nbsp"]
# the annotators write every period as a token of its own: `...` -> `.` `.` `.`, `U.S.` -> `U` `.` `S` `.`
ELLIPSIS = r"\.\.+"  # spaCy's rule, in its prefixes, suffixes and infixes, replaced by the four below
PERIOD_RUN_PREFIX = r"\.(?=\.)"
PERIOD_RUN_SUFFIX = r"(?<=\.)\."
PERIOD_IN_RUN = r"(?<=\.)\.|\.(?=\.)"
PERIOD_AFTER_LETTER = r"(?<=[^\W\d_])\."
PERIOD_IN_INITIALS = r"(?<=\b[A-Z])\.(?=[A-Z]\b)"
ABBREVIATION = re.compile(r"^(?:[^\W\d_]+\.)+$")

TOKEN_MATCH = re.compile(f"^(?:{HASHTAG}|{MENTION}|{CASHTAG}|{TRUNCATED_URL}|{URL}|{EMOJI}+)$")
URL_MATCH = re.compile(f"^{URL}$")


def social_tokenizer(nlp: Language) -> Tokenizer:
    """spaCy's tokenizer for `nlp`'s language defaults with the social media rules (see the module doc)."""
    defaults = nlp.Defaults
    # '#', '@' and '$' stay prefixes only where no word follows (a lone '#', '$5')
    prefixes: List[str] = [EMOJI] + [PERIOD_RUN_PREFIX if p == ELLIPSIS else p for p in defaults.prefixes
                                      if p not in ("#", "@", "\\$", "$")]
    prefixes += [r"#(?!\w)", r"@(?!\w)", r"\$(?![A-Za-z])"]
    suffixes: List[str] = [EMOJI, PERIOD_AFTER_LETTER] + [PERIOD_RUN_SUFFIX if s == ELLIPSIS else s for s in defaults.suffixes
                                                     if s not in ("'s", "'S", "’s", "’S")]
    # no split at hyphens between letters (spaCy's rule is the one that lists the dashes), nor at '/'
    infixes: List[str] = [EMOJI, APOSTROPHE, PERIOD_IN_RUN, PERIOD_IN_INITIALS] + [
        i.replace("[:<>=/]", "[:<>=]").replace("[+\\-\\*^]", "[+\\*^]") for i in defaults.infixes
        if "—" not in i and i != ELLIPSIS]
    # spaCy's exceptions that are one token (emoticons), not its contraction splits, nor its abbreviations:
    # the annotators split the period off `Mr.`, `U.S.`
    rules = {text: pieces for text, pieces in defaults.tokenizer_exceptions.items()
             if len(pieces) == 1 and not text.startswith(("'", "’")) and not ABBREVIATION.match(text)}
    for text in EMOTICONS + HTML_ENTITIES:
        rules[text] = [{"ORTH": text}]
    for entity in HTML_ENTITIES:
        rules[entity + ";"] = [{"ORTH": entity}, {"ORTH": ";"}]
    return Tokenizer(
        nlp.vocab,
        rules=rules,
        prefix_search=compile_prefix_regex(prefixes).search,
        suffix_search=compile_suffix_regex(suffixes).search,
        infix_finditer=compile_infix_regex(infixes).finditer,
        token_match=TOKEN_MATCH.match,
        url_match=URL_MATCH.match,
    )


@registry.tokenizers("spacy_mner.social_tokenizer.v1")
def create_social_tokenizer() -> Callable[[Language], Tokenizer]:
    """The `[nlp.tokenizer]` of every config here: `@tokenizers = "spacy_mner.social_tokenizer.v1"`."""
    return social_tokenizer
