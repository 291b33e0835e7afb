// Error sentences in words: the server's field errors name fields by their keys
// (`end_time`); a person reads "End time must be after the start time". (A double
// booking is already named by person and client in the server's sentence.) Everything
// here only rewords what the server said.

// "end_time" → "end time".
export function fieldWords(key) {
  return String(key).replaceAll('_', ' ').replace(/\bid\b/, '').trim();
}

function capital(s) {
  return s ? s[0].toUpperCase() + s.slice(1) : s;
}

// A server message with the field keys `keys` (`start_time`) replaced by words ("the
// start time"). Only field names: a choice's value (`bank_transfer`) stays as it is.
export function inWords(message, keys = []) {
  let out = String(message || '');
  for (const k of new Set(keys)) {
    if (!/^[a-z]+(_[a-z]+)+$/.test(k)) continue;
    out = out.replace(new RegExp(`\\b${k}\\b`, 'g'), `the ${fieldWords(k)}`);
  }
  return out;
}

// One field's problem as a sentence: "End time must be after the start time."
export function fieldSentence(key, message, keys = [key]) {
  const m = inWords(message, keys).replace(/^Must\b/, 'must').replace(/^This field\b/, 'it');
  const lead = capital(fieldWords(key));
  return /^(must|is|it|should|cannot|can't|needs?)\b/.test(m) ? `${lead} ${m}` : `${lead}: ${m}`;
}
