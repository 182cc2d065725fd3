import Type from 'typebox';

export const RksvReceiptParams = Type.Object({
  urlHash: Type.String({
    pattern: '^[A-Za-z0-9_-]{11}$',
    description:
      'The last path element of the receipt URL: Base64-URL (no padding) of the first 8 bytes of SHA-256 over the ' +
      "QR code text (the fiscal block's `url_hash`).",
    examples: ['pu6dF1Fm3Ok'],
  }),
});

/** The answer: the QR code text itself, not JSON. */
export const RksvReceiptQrCode = Type.Unsafe<string>({
  description: 'The QR code text of the receipt (`_R1-AT…`), exactly as its `verification.qr_data`.',
  content: { 'text/plain': { schema: { type: 'string', examples: ['_R1-AT100_KASSE-1_2_2026-07-01T10:15:30_…'] } } },
});
