// The QR code of an authenticator app's key URI, drawn on the server: the secret never leaves the
// issuer for a QR service, and the page needs no script.

/** An SVG QR code (error correction M), sized by the page's stylesheet. The library loads with the first one. */
export async function qrCodeSvg(content: string): Promise<string> {
  const { default: QRCode } = await import('qrcode');
  return QRCode.toString(content, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
}
