"""Word lists for disagreement on names (disagree_names.py): kinds of answer, verbs of saying, role words."""

from __future__ import annotations

from ..text import STOPWORDS, content_words

# "Which official / news agency / country ...": kinds of answer a "which" question asks a name for.
KINDS = ("person|people|official|officials|company|companies|agency|agencies|group|groups|country|countries|"
         "organi[sz]ations?|body|bodies|minister|ministry|party|parties|leader|leaders|outlet|newspaper|"
         "government|army|unit|side|authority|authorities|department|institution|firm|team|nation|politician|"
         "general|commander|spokes(?:person|man|woman)|president|governor|mayor|court|judge|broadcaster")
AUX = {"did", "does", "do", "is", "are", "was", "were", "has", "have", "had", "will", "would", "can", "could",
       "should", "shall", "may", "might", "must", "be", "been"}
DETERMINERS = {"the", "a", "an", "his", "her", "their", "its", "this", "that", "these", "those", "my", "our", "your"}
NOT_TERMS = content_words("who whom whose which what according say said says would will could should can may might "
                          "must shall")
SAYING = {"said", "say", "says", "saying", "told", "tell", "tells", "announced", "announce", "announces", "stated",
          "claimed", "claims", "claim", "confirmed", "added", "insisted", "declared", "warned", "reported"}
INVERTED = {"said", "says", "added", "insisted", "warned"}  # "said General Markov" (not "told Reuters": a listener)
# Where the doer stands after such a verb, in words: "said General Markov", "according to the ministry".
DOER_AFTER = dict.fromkeys(INVERTED, 1) | {"according": 2}
NEGATION = {"not", "never", "no", "didn", "denied", "denies", "deny", "neither", "nor"}
BREAKS = NEGATION | {"and", "but", "after", "before", "while", "when", "if", "because", "as", "since", "then"}
PLACE_WORDS = {"in", "at", "near", "from", "of", "to", "into", "outside", "inside", "across", "towards", "toward",
               "for", "with", "on", "over", "under", "around", "through", "via", "between", "against"}
ARTICLES = {"the", "a", "an", "its", "their", "his", "her"}
CAPITAL_ARTICLES = ("The", "A", "An")  # a role phrase may open a sentence: "The army ordered ..."
# Capitalised only because they open a sentence or a clause: never the start of a name.
OPENERS = STOPWORDS | ARTICLES | {"if", "when", "while", "after", "before", "as", "although", "though", "because",
                                  "since", "yet", "however", "meanwhile", "still", "also", "then", "there", "here",
                                  "he", "she", "they", "we", "i", "you", "during", "despite", "according",
                                  "last", "next", "earlier", "later", "today", "yesterday", "on", "but", "so"}
CONNECTORS = {"of", "the", "de", "van", "von", "der", "den", "al", "bin", "ibn", "da", "di", "du", "la", "le", "del"}
TITLES = {"mr", "mrs", "ms", "dr", "prof", "sir", "dame", "lord", "lady", "rev"}
CALENDAR = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january", "february",
            "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"}
# Role words by kind: two mentions of one kind may be one body ("General Markov" and "the army").
FAMILIES = {
    "military": "army armies military troops soldiers forces general generals commander commanders colonel navy",
    "governor": "governor governors governorate",
    "mayor": "mayor mayors",
    "president": "president presidency",
    "minister": "minister ministers ministry ministries",
    "police": "police policeman policemen gendarmerie",
    "court": "court courts judge judges",
    "prosecutor": "prosecutor prosecutors prosecution",
    "parliament": "parliament lawmakers legislators legislature senate congress deputies",
    "council": "council councillors councilors municipality",
    "rescue": "rescuers firefighters",
    # Unspecific: they name nobody in particular, so they never answer, only stand between a verb and others.
    "vague": "officials official authorities authority sources spokesperson spokesman spokeswoman government "
             "administration witnesses residents experts analysts",
}
ROLE = {word: family for family, words in FAMILIES.items() for word in words.split()}
PERSONAL = {"person", "people", "leader", "leaders", "politician"}  # besides roles, kinds asked with "who", not "that"
