-- A person's name words by person: a name change removes the old words.
CREATE INDEX person_name_words_user ON person_name_words (user_id);
